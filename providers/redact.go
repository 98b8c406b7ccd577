package providers

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Redacted is what a secret is replaced with.
const Redacted = "[redacted]"

// SecretSettings are the provider settings that hold a secret whatever
// their value: tokens, keys and passwords of every backend, and the AWS
// access key id (an account identifier, shown by no error of ours).
var SecretSettings = map[string]bool{
	"api_token": true, "zone_token": true, "token": true, "key": true, "secret": true, "password": true,
	"access_key_id": true, "secret_access_key": true, "session_token": true,
}

// minSecretLen is the length below which a configured value is not searched
// for: a value of two characters would blank out every match in ordinary
// text, and is no secret worth the name.
const minSecretLen = 4

// credentialPatterns find credentials by their shape, whatever their value:
// HTTP authorization headers (as in an echoed request), AWS session tokens,
// SigV4 credentials and signatures, AWS access key ids, a BIND key's secret.
var credentialPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)(\bauthorization["']?\s*[:=]\s*["']?)[^\r\n"'<]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)(\bx-amz-security-token["']?\s*[:=]\s*["']?)[^\s"'&;,<]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)(\bx-auth-key["']?\s*[:=]\s*["']?)[^\s"'&;,<]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)(\bcredential=)[^\s,"'&<]+`), "${1}" + Redacted},
	{regexp.MustCompile(`(?i)(\bsignature=)[0-9a-f]{16,}`), "${1}" + Redacted},
	{regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b`), Redacted},
	{regexp.MustCompile(`\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{16,}`), "${1} " + Redacted},
	{regexp.MustCompile(`(?i)(\bsecret\s+)"[^"]*"`), `${1}"` + Redacted + `"`},
}

// Redactor removes secrets from text before it becomes an error: every
// configured secret value (in the forms an API may echo it: as is, URL-,
// JSON- or Go-quoted) and every credential it recognises by shape (see
// credentialPatterns). The zero value and nil redact credentials by shape
// only. It is safe for concurrent use.
type Redactor struct {
	secrets []string // longest first, so that a secret holding another goes whole
}

// NewRedactor returns a Redactor of the given secret values; empty and very
// short values are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecretLen && !seen[s] {
			seen[s] = true
			r.secrets = append(r.secrets, s)
		}
	}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		if q := strconv.Quote(s); len(q) > 2 {
			add(q[1 : len(q)-1])
		}
		if b, err := json.Marshal(s); err == nil && len(b) > 2 {
			add(string(b[1 : len(b)-1]))
			add(strings.ReplaceAll(string(b[1:len(b)-1]), "/", `\/`)) // JSON encoders that escape the slash
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// RedactorFor returns the Redactor of a provider's settings: the values of
// the keys marked secret (the settings that came from ${...} references and
// those the backend marks) and of the keys in SecretSettings.
func RedactorFor(s *Settings) *Redactor {
	if s == nil {
		return NewRedactor()
	}
	var vals []string
	for k, v := range s.Values {
		if s.Secret[k] || SecretSettings[k] {
			vals = append(vals, v)
		}
	}
	return NewRedactor(vals...)
}

// Redact returns text with every secret replaced by Redacted.
func (r *Redactor) Redact(text string) string {
	if r != nil {
		for _, s := range r.secrets {
			if strings.Contains(text, s) {
				text = strings.ReplaceAll(text, s, Redacted)
			}
		}
	}
	for _, p := range credentialPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return text
}

// Error returns err with its text redacted; errors.Is and errors.As still
// see the errors it wraps (a *ChangedError, a *TransientError), and a
// *SettingError found through errors.As keeps its Key with its text
// redacted. nil stays nil; an error with nothing to redact is returned as
// it is.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err, r: r}
}

// redactedError is an error whose text was redacted.
type redactedError struct {
	msg string
	err error
	r   *Redactor
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// As hands out a setting's error redacted too: callers place it at the
// setting's line and print its text.
func (e *redactedError) As(target any) bool {
	t, ok := target.(**SettingError)
	if !ok {
		return false
	}
	var se *SettingError
	if !errors.As(e.err, &se) {
		return false
	}
	*t = &SettingError{Key: se.Key, Err: e.r.Error(se.Err)}
	return true
}
