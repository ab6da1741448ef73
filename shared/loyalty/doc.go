// Package loyalty is the domain of the loyalty engine: members' accounts, the
// points ledger, point lots with an expiry date, rewards and redemptions, and
// the rules that turn a purchase into points.
//
// It imports the standard library only. Storage, HTTP, queues and event buses
// live in their own packages and talk to this one through the Store port and
// the domain types. Every function that needs the time takes it from a Clock.
//
// The account invariant that every operation keeps and the audit checks:
//
//	Balance == sum of the ledger entries' Delta == sum of lot remainders - Deficit
//
// Deficit is what a refund took beyond the points left when the program allows
// a negative balance; Debt is what it could not take when the program records
// the rest as debt instead (Debt is not part of the balance).
package loyalty
