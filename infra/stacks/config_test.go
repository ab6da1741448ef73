package stacks_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/loyalty-functions/loyalty/infra/stacks"
)

func TestConfigFromContext(t *testing.T) {
	tests := []struct {
		name    string
		context map[string]any
		check   func(stacks.Config) string // "" when fine
		wantErr string
	}{
		{name: "defaults", context: nil, check: func(c stacks.Config) string {
			d := stacks.DefaultConfig()
			if c.Stage != "dev" || c.Timezone != "Europe/Berlin" || c.DistDir != "dist" || c.ProgramFile != "program.json" ||
				len(c.Partners) != 0 || strings.Join(c.CorsOrigins, ",") != strings.Join(d.CorsOrigins, ",") {
				return "defaults differ"
			}
			return ""
		}},
		{name: "list from cdk.json", context: map[string]any{"corsOrigins": []any{"https://a.example.com", "https://b.example.com"}},
			check: func(c stacks.Config) string {
				if strings.Join(c.CorsOrigins, ",") != "https://a.example.com,https://b.example.com" {
					return strings.Join(c.CorsOrigins, ",")
				}
				return ""
			}},
		{name: "list from -c", context: map[string]any{"corsOrigins": "https://a.example.com, https://b.example.com"},
			check: func(c stacks.Config) string {
				if strings.Join(c.CorsOrigins, ",") != "https://a.example.com,https://b.example.com" {
					return strings.Join(c.CorsOrigins, ",")
				}
				return ""
			}},
		{name: "JSON list from -c", context: map[string]any{"corsOrigins": `["https://app.example.com"]`},
			check: func(c stacks.Config) string {
				if strings.Join(c.CorsOrigins, ",") != "https://app.example.com" {
					return strings.Join(c.CorsOrigins, ",")
				}
				return ""
			}},
		// Partners and their senders are onboarded in the program file; the
		// old context key is refused, never silently ignored.
		{name: "partner accounts in context", context: map[string]any{"partnerAccounts": "111111111111"}, wantErr: "context partnerAccounts"},
		{name: "bad timezone", context: map[string]any{"timezone": "Europe/Berln"}, wantErr: "timezone"},
		{name: "bad stage", context: map[string]any{"stage": "Prod"}, wantErr: "stage"},
		{name: "bad email", context: map[string]any{"alarmEmail": "ops"}, wantErr: "alarmEmail"},
		{name: "bad pool id", context: map[string]any{"userPoolId": "pool"}, wantErr: "userPoolId"},
		{name: "wildcard origin", context: map[string]any{"corsOrigins": "*"}, wantErr: "corsOrigins"},
		{name: "bad log level", context: map[string]any{"logLevel": "chatty"}, wantErr: "logLevel"},
		// Intent: outside dev an alarm reaches a person, so a stage whose
		// alarm topic has no subscriber fails the synth, saying what to set;
		// dev (the default) may go without one.
		{name: "prod without alarm subscriber", context: map[string]any{"stage": "prod"}, wantErr: `alarmEmail: got none for stage "prod"`},
		{name: "prod with a blank alarm subscriber", context: map[string]any{"stage": "prod", "alarmEmail": "  "}, wantErr: `alarmEmail: got none for stage "prod"`},
		{name: "prod with alarm subscriber", context: map[string]any{"stage": "prod", "alarmEmail": "ops@example.com"}, check: func(c stacks.Config) string {
			if c.Stage != "prod" || c.AlarmEmail != "ops@example.com" {
				return c.Stage + " " + c.AlarmEmail
			}
			return ""
		}},
		{name: "dev without alarm subscriber", context: map[string]any{"stage": stacks.DevStage, "alarmEmail": ""}, check: func(c stacks.Config) string {
			if c.Stage != "dev" || c.AlarmEmail != "" {
				return c.Stage + " " + c.AlarmEmail
			}
			return ""
		}},
		{name: "imported pool", context: map[string]any{"userPoolId": "eu-central-1_AbC123"}, check: func(c stacks.Config) string {
			if c.UserPoolID != "eu-central-1_AbC123" {
				return c.UserPoolID
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.context
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			cfg, err := stacks.ConfigFromContext(app.Node())
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("ConfigFromContext: got error %v, want one about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromContext: got error %v, want nil", err)
			}
			if msg := tc.check(cfg); msg != "" {
				t.Errorf("ConfigFromContext: got %+v (%s), want the %s case", cfg, msg, tc.name)
			}
		})
	}
}

// Intent: the demo program's partners send from made-up accounts so the
// local stack can evaluate the queue policies; no deployed stage may open a
// queue to such an account (someone may own that number), so the synth
// refuses it there, naming the partner, and only stage local takes it.
func TestExampleSenderAccountsAreLocalOnly(t *testing.T) {
	for _, s := range []string{"444455556666", "arn:aws:iam::777788889999:role/till", "arn:aws:iam::111122223333:user/pos"} {
		cfg := stacks.DefaultConfig()
		cfg.Partners = []stacks.Partner{{ID: "demo-webshop", Senders: []string{"210987654321", s}}}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "partner demo-webshop: sender \""+s+"\" is in account") {
			t.Errorf("stage %s with sender %s: got %v, want the example account refused", cfg.Stage, s, err)
		}
		cfg.Stage, cfg.AlarmEmail = stacks.LocalStage, "ops@example.com"
		if err := cfg.Validate(); err != nil {
			t.Errorf("stage local with sender %s: got %v, want nil", s, err)
		}
	}
	cfg := stacks.DefaultConfig()
	cfg.Partners = []stacks.Partner{{ID: "shop", Senders: []string{"210987654321", "arn:aws:iam::210987654321:role/pos"}}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("a partner's own accounts: got %v, want nil", err)
	}
}
