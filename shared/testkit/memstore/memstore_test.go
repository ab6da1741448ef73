package memstore_test

import (
	"testing"

	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// The ports of the adapters the store implements, asserted here rather than
// in the package: jobs, httpapi and ingest link the AWS SDK.
var (
	_ jobs.Store               = (*memstore.Store)(nil)
	_ httpapi.MemberStore      = (*memstore.Store)(nil)
	_ httpapi.AdminStore       = (*memstore.Store)(nil)
	_ httpapi.FeedbackStore    = (*memstore.Store)(nil)
	_ httpapi.Inbox            = (*memstore.Store)(nil)
	_ ingest.RejectionRecorder = (*memstore.Store)(nil)
	_ storecontract.Store      = (*memstore.Store)(nil)
)

func TestContract(t *testing.T) {
	storecontract.Run(t, func(t *testing.T) storecontract.Store { return memstore.New() })
}
