package stacks_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
)

// The partner door is a function URL with AuthType AWS_IAM that every
// sender of the program file, and nobody else, may invoke: for each sender
// lambda:InvokeFunctionUrl (on AWS_IAM) and lambda:InvokeFunction only via
// the URL. Its role has the ingest's grants; its URL is an output.
func TestPartnerDoorURLAndPermissions(t *testing.T) {
	// GIVEN the service template of the fixture's partners
	f := synth(t)
	door := f.functionID(t, "partner-door")

	// THEN one URL, on AWS_IAM, for the door function
	urls := ofType(f.services, "AWS::Lambda::Url")
	if len(urls) != 1 {
		t.Fatalf("function URLs: got %d, want 1", len(urls))
	}
	u := urls[0].Properties
	if u["AuthType"] != "AWS_IAM" || !contains(refs(u["TargetFunctionArn"]), door) {
		t.Errorf("URL: got auth %v on %v, want AWS_IAM on %s", u["AuthType"], u["TargetFunctionArn"], door)
	}

	// AND the permissions name exactly the senders, two statements each
	var got []string
	for _, p := range ofType(f.services, "AWS::Lambda::Permission") {
		pr := p.Properties
		if !contains(refs(pr["FunctionName"]), door) {
			continue
		}
		principal := flat(pr["Principal"])
		switch pr["Action"] {
		case "lambda:InvokeFunctionUrl":
			if pr["FunctionUrlAuthType"] != "AWS_IAM" {
				t.Errorf("%s: got FunctionUrlAuthType %v, want AWS_IAM", p.id, pr["FunctionUrlAuthType"])
			}
		case "lambda:InvokeFunction":
			if pr["InvokedViaFunctionUrl"] != true {
				t.Errorf("%s: lambda:InvokeFunction for %s without InvokedViaFunctionUrl: the partner could invoke the function directly", p.id, principal)
			}
		default:
			t.Errorf("%s: got action %v, want only the URL's two", p.id, pr["Action"])
		}
		got = append(got, fmt.Sprint(pr["Action"], " ", principal))
	}
	var want []string
	for _, p := range partners {
		for _, s := range p.Senders {
			want = append(want, "lambda:InvokeFunctionUrl "+s, "lambda:InvokeFunction "+s)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("door permissions:\ngot  %v\nwant %v", got, want)
	}

	// AND the URL per stage is an output
	expect(t, stacks.DoorURLOutput+" output", func() {
		f.serviceTpl.HasOutput(jsii.String(stacks.DoorURLOutput), map[string]any{"Value": map[string]any{"Fn::GetAtt": []any{urls[0].id, "FunctionUrl"}}})
	})

	// AND its environment names the code secret and the stage, as the ingest's
	env := flat(f.services[door].Properties["Environment"])
	for _, k := range []string{"TABLE_NAME", "STAGE", "PROGRAM_FILE", stacks.CodeSecretEnv} {
		if !strings.Contains(env, k) {
			t.Errorf("door environment: got %s, want %s", env, k)
		}
	}
}

// The door's row in the function table has the ingest's table actions.
func TestPartnerDoorHasTheIngestGrants(t *testing.T) {
	var door, ingest *stacks.Function
	for i, fn := range stacks.Functions {
		switch fn.Name {
		case "partner-door":
			door = &stacks.Functions[i]
		case "ingest":
			ingest = &stacks.Functions[i]
		}
	}
	if door == nil || ingest == nil || door.Kind != stacks.KindDoor {
		t.Fatalf("function table: got door %+v, ingest %+v", door, ingest)
	}
	if fmt.Sprint(door.TableActions) != fmt.Sprint(ingest.TableActions) || len(door.QueryIndexes) != len(ingest.QueryIndexes) {
		t.Errorf("door grants: got %v %v, want the ingest's %v %v", door.TableActions, door.QueryIndexes, ingest.TableActions, ingest.QueryIndexes)
	}
	if !stacks.CodeSecretReaders["partner-door"] {
		t.Error("the door opens rotating codes, so it must read the code secret")
	}
}
