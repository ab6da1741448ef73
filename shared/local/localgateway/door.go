package localgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/local/localiam"
)

// DoorService is what a function URL request is signed for.
const DoorService = "lambda"

// DoorPartner is one local partner at the door: the key it signs with and
// the principal AWS would name for it, taken from its first sender in the
// program file (DoorCaller).
type DoorPartner struct {
	ID              string
	AccessKeyID     string
	SecretAccessKey string
	Senders         []string
}

// Door stands in for a Lambda function URL with AuthType AWS_IAM in front
// of the partner door function: it verifies the SigV4 signature (service
// lambda) with each local partner's key, refuses what AWS refuses as AWS
// answers it (403 {"Message":"Forbidden"}), and fills
// requestContext.authorizer.iam as AWS does.
type Door struct {
	Region   string
	Partners []DoorPartner
	// Invoke runs the function with the event's JSON.
	Invoke func(ctx context.Context, payload []byte) ([]byte, error)
	// Authorize, when set, decides as the URL's resource-based policy does
	// whether the caller the partner's key stands for may invoke the URL
	// (the local stack evaluates the template's permissions); an error
	// refuses the call as AWS does, with the error logged. Unset, every
	// partner with a sender may.
	Authorize func(partnerID string, caller *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription) error
	Now       func() time.Time
	Logf      func(format string, args ...any)
}

// DoorCaller is what AWS names in authorizer.iam for a session of the
// partner's first sender: an account's local user, a role's session, or the
// user itself. ok is false when the partner has no sender: on AWS the URL's
// resource policy then lets nobody in.
func DoorCaller(p DoorPartner) (*events.LambdaFunctionURLRequestContextAuthorizerIAMDescription, bool) {
	if len(p.Senders) == 0 {
		return nil, false
	}
	s := p.Senders[0]
	iam := &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{AccessKey: p.AccessKeyID}
	if len(s) == 12 && !strings.HasPrefix(s, "arn:") {
		iam.AccountID, iam.UserARN = s, "arn:aws:iam::"+s+":user/local-partner-"+p.ID
		iam.UserID, iam.CallerID = "AIDALOCALPARTNER", "AIDALOCALPARTNER"
		return iam, true
	}
	parts := strings.SplitN(s, ":", 6) // arn, partition, iam, "", account, kind/path/name
	if len(parts) != 6 {
		return nil, false
	}
	iam.AccountID = parts[4]
	if strings.HasPrefix(parts[5], "role/") {
		name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
		iam.UserARN = fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/local-%s", parts[1], parts[4], name, p.ID)
		iam.UserID = "AROALOCALPARTNER:local-" + p.ID
	} else {
		iam.UserARN, iam.UserID = s, "AIDALOCALPARTNER"
	}
	iam.CallerID = iam.UserID
	return iam, true
}

// ServeHTTP verifies, builds the function URL event and answers with the
// function's response.
func (d *Door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	forbidden := func(why string) {
		if d.Logf != nil {
			d.Logf("partner door: refused %s %s: %s", r.Method, r.URL.Path, why)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"Message":"Forbidden"}`)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 6<<20)) // a function URL's request limit
	if err != nil {
		http.Error(w, `{"Message":"Request Entity Too Large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	principals := make([]localiam.Principal, len(d.Partners))
	for i, p := range d.Partners {
		principals[i] = localiam.Principal{Name: p.ID, AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	}
	who, err := localiam.Verifier{Service: DoorService, Region: d.Region, Principals: principals, Now: d.Now}.Verify(r, body)
	if err != nil {
		forbidden(err.Error())
		return
	}
	var iam *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription
	for _, p := range d.Partners {
		if p.ID == who.Name {
			iam, _ = DoorCaller(p)
		}
	}
	if iam == nil {
		forbidden("partner " + who.Name + " has no sender in the program file: the URL's resource policy lets it in nowhere")
		return
	}
	if d.Authorize != nil {
		if err := d.Authorize(who.Name, iam); err != nil {
			forbidden(err.Error())
			return
		}
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	at := now().UTC()
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	headers["host"] = r.Host
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: headers, Body: string(body)}
	ev.RequestContext = events.LambdaFunctionURLRequestContext{AccountID: AccountID, RequestID: newRequestID(),
		APIID: "localpartnerdoor", DomainName: r.Host, DomainPrefix: "localpartnerdoor",
		Time: at.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: at.UnixMilli(),
		Authorizer: &events.LambdaFunctionURLRequestContextAuthorizerDescription{IAM: iam},
		HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path,
			Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent()}}
	payload, err := json.Marshal(ev)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := d.Invoke(r.Context(), payload)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"Message":"Internal Server Error"}`)
		if d.Logf != nil {
			d.Logf("partner door: function failed: %v", err)
		}
		return
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		http.Error(w, "the function's answer is not a function URL response", http.StatusBadGateway)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.WriteString(w, resp.Body)
}
