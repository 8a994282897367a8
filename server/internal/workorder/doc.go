// Package workorder owns projects, work orders and their lifecycle.
//
// A work order (WO) is a small, well-specified change to a project's repository.
// Its status moves through a fixed state machine:
//
//	pending → approved → in_progress → completed | needs_review | failed
//	cancelled from pending, approved, in_progress and needs_review
//	retry: failed | needs_review → approved
//
// Every change is written together with an event row in one transaction, and
// the transaction sends a NOTIFY so that Watch streams, on any moosed instance
// sharing the database, learn of it at once. The events table is the audit trail;
// nothing about a work order is held only in memory.
//
// The package owns its tables (projects, work_orders, work_order_events and
// attempts) and translates driver errors at this edge: pgx.ErrNoRows becomes
// fault.ErrNotFound, unique violations become fault.ErrConflict. SQL text never
// leaves the package: the pipeline counts executions, records jobs, stores and
// resumes cycles (CycleRecord), finds few-shot examples and stuck work through
// the methods here. (Still outside: package dataset reads attempts
// and work_orders with SQL of its own; see issue 15.)
package workorder
