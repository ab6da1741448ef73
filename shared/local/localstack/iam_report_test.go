package localstack_test

import (
	"fmt"
	"os"

	"github.com/loyalty-functions/loyalty/shared/local/localstack"
)

// reportIAM prints the distinct (function, action, resource) calls the
// functions made over the end-to-end suite, each with the statement of
// its role that allowed it, and the grants no call used. It returns false
// when a call with the shipped template was denied: every flow of the
// suite must pass with the roles as they deploy.
func reportIAM(st *localstack.Stack) bool {
	ok := true
	calls := st.IAMCalls()
	fmt.Fprintf(os.Stderr, "IAM: %d distinct (function, action, resource) calls over the end-to-end suite:\n", len(calls))
	for _, c := range calls {
		verdict := "allowed by " + c.Statement
		if !c.Allowed {
			verdict, ok = "DENIED", false
		}
		fmt.Fprintf(os.Stderr, "  %-15s %-28s %s  %s\n", c.Function, c.Action, c.Resource, verdict)
	}
	unused := st.UnusedIAMGrants()
	fmt.Fprintf(os.Stderr, "IAM: %d grants no call used:\n", len(unused))
	for _, g := range unused {
		fmt.Fprintf(os.Stderr, "  %-15s %-28s %s (%s)\n", g.Function, g.Action, g.Resource, g.Policy)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "IAM: a function's call was denied with the shipped template")
	}
	return ok
}
