package zonefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/maildns/maildns/providers"
)

// DefaultPostWriteTimeout bounds a post_write command when
// post_write_timeout is not set.
const DefaultPostWriteTimeout = 20 * time.Second

// postWriteOutputMax is how much of a failed command's output its error
// quotes (the end of it, where the reason usually is).
const postWriteOutputMax = 500

// placeholder matches {word} in a post_write item.
var placeholder = regexp.MustCompile(`\{[A-Za-z_]*\}`)

// PostWriteError is the error of a write whose zone file was written but
// whose post_write command failed: the server may still serve the old
// zone. The command runs again after the next write call to the zone.
type PostWriteError struct {
	Zone string
	Err  error
}

func (e *PostWriteError) Error() string {
	return fmt.Sprintf("zone %s: zone file written, but post_write failed: %v", e.Zone, e.Err)
}

func (e *PostWriteError) Unwrap() error { return e.Err }

// checkPostWrite validates a post_write argv as read from the settings.
func checkPostWrite(argv []string) error {
	if len(argv) == 0 {
		return errors.New(`want a command as a list, such as [rndc, reload, "{zone}"]`)
	}
	for i, a := range argv {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("item %d is empty", i+1)
		}
		for _, m := range placeholder.FindAllString(a, -1) {
			if m != "{zone}" && m != "{file}" {
				return fmt.Errorf("item %d: unknown placeholder %s (known: {zone}, {file})", i+1, m)
			}
		}
	}
	if strings.Contains(argv[0], "{") {
		return errors.New("the program (first item) cannot hold a placeholder")
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return fmt.Errorf("program %q: %w", argv[0], err)
	}
	return nil
}

// postWriteState remembers zones whose post_write failed, so that it runs
// again on the next write call even if that call changes nothing.
type postWriteState struct {
	mu    sync.Mutex
	owing map[string]bool // zone file path -> post_write still owed
}

func (p *Provider) owesPostWrite(path string) bool {
	if len(p.PostWrite) == 0 {
		return false
	}
	p.post.mu.Lock()
	defer p.post.mu.Unlock()
	return p.post.owing[path]
}

// postWrite runs the post_write command for the zone file at path, with
// {zone} (the zone's name without its final dot) and {file} substituted,
// without a shell, bounded by PostWriteTimeout. It runs on even when ctx
// is cancelled after the write: the file is written, and the server should
// load it.
func (p *Provider) postWrite(ctx context.Context, path, origin string) error {
	if len(p.PostWrite) == 0 {
		return nil
	}
	zone := strings.TrimSuffix(origin, ".")
	argv := make([]string, len(p.PostWrite))
	for i, a := range p.PostWrite {
		argv[i] = strings.NewReplacer("{zone}", zone, "{file}", path).Replace(a)
	}
	timeout := p.PostWriteTimeout
	if timeout <= 0 {
		timeout = DefaultPostWriteTimeout
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()

	p.post.mu.Lock()
	if p.post.owing == nil {
		p.post.owing = map[string]bool{}
	}
	if err == nil {
		delete(p.post.owing, path)
	} else {
		p.post.owing[path] = true
	}
	p.post.mu.Unlock()
	if err == nil {
		return nil
	}
	// The cause is given as text: a command that ran out of time is not a
	// failure to retry the write for.
	msg := err.Error()
	if cctx.Err() != nil {
		msg = fmt.Sprintf("did not finish within %s", timeout)
	}
	text := strings.TrimSpace(out.String())
	if len(text) > postWriteOutputMax {
		text = "..." + text[len(text)-postWriteOutputMax:]
	}
	if text != "" {
		msg += ": " + strings.Join(strings.Fields(text), " ")
	}
	return &PostWriteError{Zone: origin, Err: errors.New(argv[0] + ": " + msg)}
}

// postWriteSettings reads post_write and post_write_timeout.
func postWriteSettings(s *providers.Settings) ([]string, time.Duration, error) {
	argv, set, err := s.List("post_write")
	if err != nil {
		return nil, 0, err
	}
	timeout, err := s.Duration("post_write_timeout", DefaultPostWriteTimeout)
	if err != nil {
		return nil, 0, err
	}
	if !set {
		return nil, timeout, nil
	}
	if err := checkPostWrite(argv); err != nil {
		return nil, 0, &providers.SettingError{Key: "post_write", Err: err}
	}
	if timeout <= 0 {
		return nil, 0, &providers.SettingError{Key: "post_write_timeout", Err: errors.New("want a duration above 0s")}
	}
	return argv, timeout, nil
}
