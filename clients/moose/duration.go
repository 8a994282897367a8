package moose

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"gopkg.in/yaml.v3"
)

// Duration is a YAML duration written as Go writes one ("90s", "2m").
type Duration struct{ time.Duration }

// UnmarshalYAML reads "90s"; a bare number is an error (seconds or
// nanoseconds would both be guesses).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration such as 90s or 2m", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// Proto is the duration for a request, nil when not set.
func (d Duration) Proto() *durationpb.Duration {
	if d.Duration <= 0 {
		return nil
	}
	return durationpb.New(d.Duration)
}
