// Package routing picks the proposer variant for a work order. Complexity
// selects a tier (default: 1–3 the cheap tier, 4–10 the strong tier); the tier
// names its variant and a fallback used when the variant's provider stays
// unavailable. A running A/B experiment in the tier may override the choice
// (package experiment), sticky per work order.
package routing

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
)

// Tier maps a complexity range to variants.
type Tier struct {
	Name              string
	MinComplexity     int
	MaxComplexity     int
	VariantID         uuid.UUID // zero: not configured
	FallbackVariantID uuid.UUID
}

// Router reads and changes the tier table.
type Router struct {
	pool *pgxpool.Pool
}

// New returns a Router over pool.
func New(pool *pgxpool.Pool) *Router { return &Router{pool: pool} }

// Tiers lists the tiers ordered by complexity.
func (r *Router) Tiers(ctx context.Context) ([]Tier, error) {
	rows, err := r.pool.Query(ctx, `SELECT name, min_complexity, max_complexity, variant_id, fallback_variant_id
		FROM routing_tiers ORDER BY min_complexity`)
	if err != nil {
		return nil, fmt.Errorf("list tiers: %w", err)
	}
	defer rows.Close()
	var out []Tier
	for rows.Next() {
		var t Tier
		var v, f *uuid.UUID
		if err := rows.Scan(&t.Name, &t.MinComplexity, &t.MaxComplexity, &v, &f); err != nil {
			return nil, fmt.Errorf("list tiers: %w", err)
		}
		if v != nil {
			t.VariantID = *v
		}
		if f != nil {
			t.FallbackVariantID = *f
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TierFor returns the tier covering complexity.
func (r *Router) TierFor(ctx context.Context, complexity int) (Tier, error) {
	tiers, err := r.Tiers(ctx)
	if err != nil {
		return Tier{}, err
	}
	for _, t := range tiers {
		if complexity >= t.MinComplexity && complexity <= t.MaxComplexity {
			return t, nil
		}
	}
	return Tier{}, fmt.Errorf("no routing tier covers complexity %d: %w", complexity, fault.ErrFailedPrecondition)
}

// SetTier creates or replaces a tier. Ranges of different tiers must not overlap.
func (r *Router) SetTier(ctx context.Context, t Tier) (Tier, error) {
	v := &fault.ValidationError{}
	if t.Name == "" {
		v.Add("name", "is required")
	}
	if t.MinComplexity < 1 || t.MinComplexity > 10 {
		v.Add("min_complexity", "must be between 1 and 10")
	}
	if t.MaxComplexity < 1 || t.MaxComplexity > 10 || t.MaxComplexity < t.MinComplexity {
		v.Add("max_complexity", "must be between min_complexity and 10")
	}
	if err := v.Err(); err != nil {
		return Tier{}, err
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var clash string
		err := tx.QueryRow(ctx, `SELECT name FROM routing_tiers WHERE name <> $1 AND min_complexity <= $3 AND max_complexity >= $2 LIMIT 1`,
			t.Name, t.MinComplexity, t.MaxComplexity).Scan(&clash)
		if err == nil {
			return fault.Invalid("min_complexity", "range %d–%d overlaps tier %q", t.MinComplexity, t.MaxComplexity, clash)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check tier overlap: %w", err)
		}
		for field, id := range map[string]uuid.UUID{"variant_id": t.VariantID, "fallback_variant_id": t.FallbackVariantID} {
			if id == uuid.Nil {
				continue
			}
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM variants WHERE id = $1`, id).Scan(&status); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return fault.Invalid(field, "variant %s does not exist", id)
				}
				return fmt.Errorf("look up variant: %w", err)
			}
			if status != "active" {
				return fault.Invalid(field, "variant %s is %s", id, status)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO routing_tiers (name, min_complexity, max_complexity, variant_id, fallback_variant_id, updated_at)
			VALUES ($1,$2,$3,$4,$5, now())
			ON CONFLICT (name) DO UPDATE SET min_complexity = $2, max_complexity = $3, variant_id = $4, fallback_variant_id = $5, updated_at = now()`,
			t.Name, t.MinComplexity, t.MaxComplexity, nullable(t.VariantID), nullable(t.FallbackVariantID))
		if err != nil {
			return fmt.Errorf("save tier: %w", err)
		}
		return nil
	})
	return t, err
}

// SetTierVariant points a tier at a variant (an experiment's promotion uses it).
func (r *Router) SetTierVariantTx(ctx context.Context, tx pgx.Tx, tier string, variantID uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE routing_tiers SET variant_id = $2, updated_at = now() WHERE name = $1`, tier, variantID)
	if err != nil {
		return fmt.Errorf("set tier variant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("tier %q: %w", tier, fault.ErrNotFound)
	}
	return nil
}

func nullable(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
