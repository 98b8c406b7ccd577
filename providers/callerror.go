package providers

import "fmt"

// CallError is the error of a call made through Wrap: it names the
// provider, the operation and the zone once, so that callers that see it in
// an error chain need not name them again.
type CallError struct {
	Provider string // the provider's name in maildns.yaml
	Op       string // the operation, as counted (OpGetRecords...)
	Zone     string
	Err      error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("provider %q: %s in zone %q: %v", e.Provider, e.Op, e.Zone, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// callError builds the error of a failed call of w.
func (w *Wrapped) callError(op, zone string, err error) error {
	return &CallError{Provider: w.o.Name, Op: op, Zone: zone, Err: err}
}
