package providers

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Settings are one provider's configuration values, as written in
// maildns.yaml with secret references already resolved. Values of keys listed
// in Secret must never appear in a log line, a plan or an error message.
type Settings struct {
	Name    string              // the provider's name in maildns.yaml
	Type    string              // the backend type
	BaseDir string              // directory of maildns.yaml, for relative paths
	Values  map[string]string   // key -> value (scalars as written)
	Lists   map[string][]string // key -> items of a setting written as a list
	Secret  map[string]bool     // keys whose value is a secret
	used    map[string]bool
	// scalarRead lists the keys read as a single value but written as a list.
	scalarRead []string
}

// SettingError is an error about one setting; Key lets the caller name the
// file and line where it is written.
type SettingError struct {
	Key string
	Err error
}

func (e *SettingError) Error() string { return fmt.Sprintf("setting %q: %v", e.Key, e.Err) }
func (e *SettingError) Unwrap() error { return e.Err }

// ErrMissing is wrapped by the error of a required setting that is absent.
var ErrMissing = errors.New("required setting is missing")

func (s *Settings) mark(key string) (string, bool) {
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[key] = true
	if _, isList := s.Lists[key]; isList {
		s.scalarRead = append(s.scalarRead, key)
	}
	v, ok := s.Values[key]
	return v, ok
}

// List returns the items of key, written as a list of strings; ok is false
// when key is not set. A single value is an error.
func (s *Settings) List(key string) (items []string, ok bool, err error) {
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[key] = true
	if _, single := s.Values[key]; single {
		return nil, false, &SettingError{Key: key, Err: errors.New("want a list of strings such as [a, b], have a single value")}
	}
	items, ok = s.Lists[key]
	return items, ok, nil
}

// Read lists, sorted, the settings the backend asked for so far, set or not
// (the reference test checks that each is documented).
func (s *Settings) Read() []string {
	out := make([]string, 0, len(s.used))
	for k := range s.used {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String returns the value of key, or def when it is not set.
func (s *Settings) String(key, def string) string {
	if v, ok := s.mark(key); ok {
		return v
	}
	return def
}

// Required returns the value of key, or a *SettingError when it is absent or empty.
func (s *Settings) Required(key string) (string, error) {
	v, ok := s.mark(key)
	if _, isList := s.Lists[key]; isList {
		return "", &SettingError{Key: key, Err: errors.New("must be a single value, not a list")}
	}
	if !ok || v == "" {
		return "", &SettingError{Key: key, Err: ErrMissing}
	}
	return v, nil
}

// Path returns the value of key as a path, relative paths taken from BaseDir.
func (s *Settings) Path(key, def string) string {
	v := s.String(key, def)
	if v == "" || filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(s.BaseDir, v)
}

// Int returns the value of key as an integer, or def when it is not set.
func (s *Settings) Int(key string, def int) (int, error) {
	v, ok := s.mark(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &SettingError{Key: key, Err: fmt.Errorf("want a whole number, have %q", s.display(key, v))}
	}
	return n, nil
}

// Float returns the value of key as a number, or def when it is not set.
func (s *Settings) Float(key string, def float64) (float64, error) {
	v, ok := s.mark(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, &SettingError{Key: key, Err: fmt.Errorf("want a number, have %q", s.display(key, v))}
	}
	return n, nil
}

// Bool returns the value of key as a boolean, or def when it is not set.
func (s *Settings) Bool(key string, def bool) (bool, error) {
	v, ok := s.mark(key)
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &SettingError{Key: key, Err: fmt.Errorf("want true or false, have %q", s.display(key, v))}
	}
	return b, nil
}

// Duration returns the value of key as a Go duration ("30s"), or def.
func (s *Settings) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := s.mark(key)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, &SettingError{Key: key, Err: fmt.Errorf("want a duration such as 30s, have %q", s.display(key, v))}
	}
	return d, nil
}

// display returns v, or a redaction when key holds a secret (a value from
// a ${...} reference, or a key of SecretSettings).
func (s *Settings) display(key, v string) string {
	if s.Secret[key] || SecretSettings[key] {
		return Redacted
	}
	return v
}

// Unknown returns a *SettingError for the first (sorted) key that no one
// read, and for a list given where a single value was read.
func (s *Settings) Unknown() error {
	keys := make([]string, 0, len(s.Values))
	for k := range s.Values {
		if !s.used[k] {
			keys = append(keys, k)
		}
	}
	for k := range s.Lists {
		if !s.used[k] {
			keys = append(keys, k)
		}
	}
	if len(s.scalarRead) > 0 {
		return &SettingError{Key: s.scalarRead[0], Err: errors.New("must be a single value, not a list")}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return &SettingError{Key: keys[0], Err: fmt.Errorf("unknown setting for provider type %q", s.Type)}
}
