package bench

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"strconv"
)

// Prices are AWS list prices in USD, us-east-1. They are constants of this
// file, not fetched: update them (and PricesAsOf) when AWS changes them.
type Prices struct {
	AsOf   string
	Source string

	DynamoWritePerMillion float64 // on-demand write request units
	DynamoReadPerMillion  float64 // on-demand read request units
	SQSPerMillion         float64 // standard queue requests (each up to 64 KiB), after the free tier
	LambdaPerGBSecond     float64 // arm64, first pricing tier
	LambdaPerMillion      float64 // requests
	HTTPAPIPerMillion     float64 // API Gateway HTTP API requests, first 300 million a month (512 KB increments)
}

// ListPrices are the prices the cost figure uses.
var ListPrices = Prices{
	AsOf: "2026-11-24",
	Source: "us-east-1 on-demand list prices as published on the AWS pricing pages of DynamoDB, SQS, Lambda and API Gateway " +
		"(DynamoDB on-demand as revised on 2024-11-01); this machine has no network, so they were entered by hand on that date " +
		"and not re-checked by the program",
	DynamoWritePerMillion: 0.625,
	DynamoReadPerMillion:  0.125,
	SQSPerMillion:         0.40,
	LambdaPerGBSecond:     0.0000133334,
	LambdaPerMillion:      0.20,
	HTTPAPIPerMillion:     1.00,
}

// CostLine is one part of a cost per million operations.
type CostLine struct {
	Part   string
	Basis  string // how the quantity was obtained
	Amount float64
}

// CostRow is the cost of a million operations of one kind.
type CostRow struct {
	Op     string
	Lines  []CostLine
	Target float64 // 0: none
}

// Total is the sum of the lines.
func (r CostRow) Total() float64 {
	var t float64
	for _, l := range r.Lines {
		t += l.Amount
	}
	return t
}

// lambdaSeconds is the billed duration of one invocation: Lambda bills
// whole milliseconds.
func lambdaSeconds(measured float64) float64 { return math.Ceil(measured*1000) / 1000 }

// accrualCost is the cost of a million accruals through the partner queue,
// from the units one accrual consumed and the handler time per batch.
func accrualCost(p Prices, c Counts, batchSeconds float64, memoryMB float64, batch int, what string) CostRow {
	batches := 1e6 / float64(batch)
	billed := lambdaSeconds(batchSeconds)
	return CostRow{Op: what, Target: 3.2, Lines: []CostLine{
		{"DynamoDB writes", fmt.Sprintf("%.2f WRU per accrual, billed (figure 3)", c.BilledWrite), c.BilledWrite * p.DynamoWritePerMillion},
		{"DynamoDB reads", fmt.Sprintf("%.2f RRU per accrual, billed (figure 3)", c.BilledRead), c.BilledRead * p.DynamoReadPerMillion},
		{"SQS requests", fmt.Sprintf("send + receive + delete, %d messages per request: %.0f requests", batch, 3*batches), 3 * batches / 1e6 * p.SQSPerMillion},
		{"Lambda requests", fmt.Sprintf("one invocation per batch of %d: %.0f", batch, batches), batches / 1e6 * p.LambdaPerMillion},
		{"Lambda duration", fmt.Sprintf("%.1f ms per batch (measured, messages one after another), billed %.0f ms, at %.0f MB",
			batchSeconds*1000, billed*1000, memoryMB), batches * billed * memoryMB / 1024 * p.LambdaPerGBSecond},
	}}
}

// redemptionCost is the cost of a million redemptions through the member API.
func redemptionCost(p Prices, c Counts, requestSeconds float64, memoryMB float64) CostRow {
	billed := lambdaSeconds(requestSeconds)
	return CostRow{Op: "1M redemptions via the member API", Lines: []CostLine{
		{"DynamoDB writes", fmt.Sprintf("%.2f WRU per redemption, billed (figure 3)", c.BilledWrite), c.BilledWrite * p.DynamoWritePerMillion},
		{"DynamoDB reads", fmt.Sprintf("%.2f RRU per redemption, billed (figure 3)", c.BilledRead), c.BilledRead * p.DynamoReadPerMillion},
		{"API Gateway HTTP API", "one request each", p.HTTPAPIPerMillion},
		{"Lambda requests", "one invocation each", p.LambdaPerMillion},
		{"Lambda duration", fmt.Sprintf("%.1f ms per request (measured), billed %.0f ms, at %.0f MB", requestSeconds*1000, billed*1000, memoryMB),
			1e6 * billed * memoryMB / 1024 * p.LambdaPerGBSecond},
	}}
}

// functionMemory reads the memory size of each function from the infra's
// function table (infra/stacks/functions.go), so the cost follows the
// deployed configuration without importing the CDK.
func functionMemory(root string) (map[string]float64, error) {
	path := filepath.Join(root, "infra", "stacks", "functions.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	mem := map[string]float64{}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var name string
		var mb float64
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, _ := kv.Key.(*ast.Ident)
			val, _ := kv.Value.(*ast.BasicLit)
			if key == nil || val == nil {
				continue
			}
			switch key.Name {
			case "Name":
				name, _ = strconv.Unquote(val.Value)
			case "MemoryMB":
				mb, _ = strconv.ParseFloat(val.Value, 64)
			}
		}
		if name != "" && mb > 0 {
			mem[name] = mb
		}
		return true
	})
	if len(mem) == 0 {
		return nil, fmt.Errorf("%s: no function with a MemoryMB found", path)
	}
	return mem, nil
}
