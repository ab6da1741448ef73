package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// AuditReport is the outcome of an audit over the whole table.
type AuditReport struct {
	Members  int                    `json:"membersChecked"`
	Problems []loyalty.AuditProblem `json:"problems"`
}

// Audit checks every member of the table with loyalty.AuditAccount. It is an
// ops command, not a request path: it Scans for accounts (in parallel
// segments) and Queries each member's ledger.
func (s *Store) Audit(ctx context.Context, segments int) (AuditReport, error) {
	if segments < 1 {
		segments = 1
	}
	ex, err := expression.NewBuilder().
		WithFilter(expression.Name("sk").Equal(expression.Value(skAccount))).
		WithProjection(expression.NamesList(expression.Name("pk"))).Build()
	if err != nil {
		return AuditReport{}, fmt.Errorf("build audit scan: %w", err)
	}
	members := make(chan loyalty.MemberID, 256)
	var (
		mu     sync.Mutex
		report AuditReport
		first  error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	var scanners sync.WaitGroup
	for seg := 0; seg < segments; seg++ {
		scanners.Add(1)
		go func(seg int) {
			defer scanners.Done()
			p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: &s.table, Segment: aws.Int32(int32(seg)),
				TotalSegments: aws.Int32(int32(segments)), FilterExpression: ex.Filter(), ProjectionExpression: ex.Projection(),
				ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					fail(s.classify(err, "scan accounts"))
					return
				}
				s.mu.Lock()
				s.consumed.Scans++
				s.mu.Unlock()
				for _, it := range out.Items {
					if id, ok := memberFromPK(stringAttr(it, "pk")); ok {
						members <- id
					}
				}
			}
		}(seg)
	}
	go func() { scanners.Wait(); close(members) }()
	var checkers sync.WaitGroup
	for w := 0; w < 8; w++ {
		checkers.Add(1)
		go func() {
			defer checkers.Done()
			for id := range members {
				p, err := s.AuditMember(ctx, id)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				report.Members++
				if p != nil {
					report.Problems = append(report.Problems, *p)
				}
				mu.Unlock()
			}
		}()
	}
	checkers.Wait()
	return report, first
}

// AuditMember checks one member; nil means account, ledger and lots agree.
// The entries of a claimed card whose history is still moving count as the
// member's (the claim put their points in the member's account): they are
// read first, from the anonymous partition, and an entry a page moved
// meanwhile, read in both places, counts once.
func (s *Store) AuditMember(ctx context.Context, id loyalty.MemberID) (*loyalty.AuditProblem, error) {
	pending, err := s.pendingHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := s.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	entries, err := s.Ledger(ctx, id)
	if err != nil {
		return nil, err
	}
	return loyalty.AuditAccount(a, loyalty.WithPending(entries, pending)), nil
}
