// Package route53 is the Amazon Route 53 backend.
//
// It speaks to Route 53 through the AWS SDK directly rather than through
// github.com/libdns/route53, whose record encoding it keeps (TXT values as
// quoted 255-byte strings with octal escapes) but whose construction does
// not fit a daemon: that library exits the process (log.Fatalf) when the AWS
// configuration fails to load, cannot be pointed at another endpoint except
// through the process environment, hides its HTTP client (so requests could
// not be rate limited or counted one by one), retries on its own under our
// retries, and re-reads the whole zone for every RRset it appends to or
// deletes from. Here the configuration is checked when the provider is built
// and loaded on first use, with errors returned; every request passes the
// wrapper's gate; SDK retries are off unless max_retries asks for them.
//
// Writes: SetRecords sends one UPSERT batch for all its RRsets (atomic: all
// or nothing). AppendRecords and DeleteRecords read each RRset they touch
// (one request each, not the zone) and send one batch that deletes the set
// as read and creates it anew, so a concurrent change makes the batch fail
// rather than be overwritten, and foreign values are kept exactly as stored.
// ReplaceRecords (providers.Replacer) does the same for every RRset it
// touches, its removes and adds together, in one batch: Route 53 applies it
// whole or not at all, so no query sees an RRset between old and new.
//
// Settings: region (default us-east-1), hosted_zone_id, access_key_id,
// secret_access_key (secret), session_token (secret), profile, max_retries
// (SDK-level retries per request, default 0), endpoint (default: the SDK's,
// which honours AWS_ENDPOINT_URL_ROUTE_53).
package route53

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/libdns/libdns"

	"github.com/maildns/maildns/providers"
)

// Type is the backend type name in maildns.yaml.
const Type = "route53"

// DefaultRegion is used when no region is set.
const DefaultRegion = "us-east-1"

const (
	defaultTTL   = 300
	listPageSize = 300 // Route 53 returns at most 300 record sets per page
)

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)
	zoneIDRE = regexp.MustCompile(`^[A-Z0-9]{1,32}$`)
)

func init() {
	providers.Register(Type, func(s *providers.Settings) (providers.Provider, error) {
		if s.Secret == nil {
			s.Secret = map[string]bool{}
		}
		s.Secret["secret_access_key"] = true
		s.Secret["session_token"] = true
		c := Config{
			Region:          s.String("region", DefaultRegion),
			HostedZoneID:    s.String("hosted_zone_id", ""),
			AccessKeyID:     s.String("access_key_id", ""),
			SecretAccessKey: s.String("secret_access_key", ""),
			SessionToken:    s.String("session_token", ""),
			Profile:         s.String("profile", ""),
			Endpoint:        s.String("endpoint", ""),
		}
		n, err := s.Int("max_retries", 0)
		if err != nil {
			return nil, err
		}
		c.MaxRetries = n
		return New(c)
	})
}

// Config configures New.
type Config struct {
	Region          string // default DefaultRegion
	HostedZoneID    string // optional; used for every zone (with or without "/hostedzone/")
	AccessKeyID     string // static credentials; both or neither
	SecretAccessKey string
	SessionToken    string // optional, with static credentials
	Profile         string // shared config profile; not with static credentials
	MaxRetries      int    // SDK-level retries per request (0 to 10); default 0
	Endpoint        string // optional API endpoint, e.g. a local fake
	// HTTPClient sends the requests; nil: the SDK's default client.
	HTTPClient interface {
		Do(*http.Request) (*http.Response, error)
	}
}

// check validates c so that loading the AWS configuration later can only
// fail on the environment (a missing profile, a broken shared config file).
func (c *Config) check() error {
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if !regionRE.MatchString(c.Region) {
		return &providers.SettingError{Key: "region", Err: fmt.Errorf("%q is not an AWS region such as us-east-1", c.Region)}
	}
	c.HostedZoneID = strings.TrimPrefix(strings.TrimSpace(c.HostedZoneID), "/hostedzone/")
	if c.HostedZoneID != "" && !zoneIDRE.MatchString(c.HostedZoneID) {
		return &providers.SettingError{Key: "hosted_zone_id", Err: fmt.Errorf("%q is not a hosted zone ID such as Z0123456789ABC", c.HostedZoneID)}
	}
	switch {
	case c.AccessKeyID != "" && c.SecretAccessKey == "":
		return &providers.SettingError{Key: "secret_access_key", Err: fmt.Errorf("%w (access_key_id is set)", providers.ErrMissing)}
	case c.AccessKeyID == "" && c.SecretAccessKey != "":
		return &providers.SettingError{Key: "access_key_id", Err: fmt.Errorf("%w (secret_access_key is set)", providers.ErrMissing)}
	case c.SessionToken != "" && c.AccessKeyID == "":
		return &providers.SettingError{Key: "session_token", Err: errors.New("needs access_key_id and secret_access_key")}
	case c.Profile != "" && c.AccessKeyID != "":
		return &providers.SettingError{Key: "profile", Err: errors.New("set either profile or access_key_id and secret_access_key, not both")}
	}
	for key, v := range map[string]string{"access_key_id": c.AccessKeyID, "secret_access_key": c.SecretAccessKey, "session_token": c.SessionToken} {
		if strings.ContainsAny(v, " \t\r\n\"") {
			return &providers.SettingError{Key: key, Err: errors.New("holds spaces, quotes or line breaks (a stray newline in the secret file?)")}
		}
	}
	if c.MaxRetries < 0 || c.MaxRetries > 10 {
		return &providers.SettingError{Key: "max_retries", Err: fmt.Errorf("want 0 to 10, have %d", c.MaxRetries)}
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &providers.SettingError{Key: "endpoint", Err: fmt.Errorf("%q is not an http or https URL", c.Endpoint)}
		}
	}
	return nil
}

// Provider is the Route 53 backend. It is safe for concurrent use.
type Provider struct {
	c    Config
	gate func(ctx context.Context) error
	red  *providers.Redactor // the credentials, out of every error text

	mu     sync.Mutex
	client *r53.Client
	zones  map[string]string // zone FQDN -> hosted zone ID
}

var (
	_ providers.Provider     = (*Provider)(nil)
	_ providers.RequestGater = (*Provider)(nil)
	_ providers.Replacer     = (*Provider)(nil)

	_ providers.ConditionalReplacer = (*Provider)(nil)
)

// New checks c and returns a backend. It touches no network and loads no
// AWS configuration: that happens on first use, and its failure is an
// error of that call.
func New(c Config) (*Provider, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return &Provider{c: c, zones: map[string]string{},
		red: providers.NewRedactor(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}, nil
}

// String keeps credentials out of any print of the provider.
func (p *Provider) String() string { return "route53 provider (region " + p.c.Region + ")" }

// GoString keeps credentials out of %#v.
func (p *Provider) GoString() string { return "route53.Provider{[redacted]}" }

// SetRequestGate implements providers.RequestGater. Call it before use.
func (p *Provider) SetRequestGate(gate func(ctx context.Context) error) { p.gate = gate }

type gatedClient struct {
	p    *Provider
	base interface {
		Do(*http.Request) (*http.Response, error)
	}
}

func (g gatedClient) Do(req *http.Request) (*http.Response, error) {
	if g.p.gate != nil {
		if err := g.p.gate(req.Context()); err != nil {
			return nil, err
		}
	}
	return g.base.Do(req)
}

// api returns the SDK client, loading the AWS configuration on first use.
func (p *Provider) api(ctx context.Context) (*r53.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	attempts := p.c.MaxRetries + 1
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(p.c.Region),
		config.WithRetryer(func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), attempts) }),
	}
	if p.c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(p.c.Profile))
	}
	if p.c.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(p.c.AccessKeyID, p.c.SecretAccessKey, p.c.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, p.red.Error(fmt.Errorf("route53: loading the AWS configuration: %w", err))
	}
	endpoint, custom := p.c.Endpoint, p.c.HTTPClient
	p.client = r53.NewFromConfig(cfg, func(o *r53.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// The client the configuration built (proxy, CA bundle) or the
		// one given, behind the gate.
		var base interface {
			Do(*http.Request) (*http.Response, error)
		} = o.HTTPClient
		if custom != nil {
			base = custom
		}
		if base == nil {
			base = awshttp.NewBuildableClient()
		}
		o.HTTPClient = gatedClient{p: p, base: base}
	})
	return p.client, nil
}

// classify marks the SDK errors worth retrying as *providers.TransientError
// and redacts the credentials from their text: an error such as
// SignatureDoesNotMatch quotes the request it received (the canonical
// request with the session token, the access key id).
func (p *Provider) classify(err error) error {
	if err == nil {
		return nil
	}
	err = p.red.Error(err)
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case status == http.StatusTooManyRequests || code == "Throttling" || code == "ThrottlingException" ||
		code == "RequestLimitExceeded" || code == "PriorRequestNotComplete":
		return providers.Transient(err, 0, true)
	case status >= 500 || code == "ServiceUnavailable" || code == "InternalFailure":
		return providers.Transient(err, 0, false)
	}
	return err
}

// zoneID returns the hosted zone ID for zone, looking it up once.
func (p *Provider) zoneID(ctx context.Context, cl *r53.Client, zone string) (string, error) {
	if p.c.HostedZoneID != "" {
		return p.c.HostedZoneID, nil
	}
	fq := providers.AbsoluteName("@", zone)
	p.mu.Lock()
	id, ok := p.zones[fq]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	out, err := cl.ListHostedZonesByName(ctx, &r53.ListHostedZonesByNameInput{DNSName: aws.String(fq), MaxItems: aws.Int32(10)})
	if err != nil {
		return "", fmt.Errorf("route53: looking up the hosted zone %q: %w", zone, p.classify(err))
	}
	var public, private []string
	for _, hz := range out.HostedZones {
		if strings.ToLower(decodeName(aws.ToString(hz.Name))) != fq {
			continue
		}
		zid := strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/")
		if hz.Config != nil && hz.Config.PrivateZone {
			private = append(private, zid)
		} else {
			public = append(public, zid)
		}
	}
	switch {
	case len(public) == 1:
		id = public[0]
	case len(public) == 0 && len(private) == 1:
		id = private[0]
	case len(public)+len(private) == 0:
		return "", fmt.Errorf("route53: no hosted zone named %q (check the credentials' account, or set hosted_zone_id)", zone)
	default:
		return "", fmt.Errorf("route53: several hosted zones are named %q (%s); set hosted_zone_id", zone, strings.Join(append(public, private...), ", "))
	}
	p.mu.Lock()
	p.zones[fq] = id
	p.mu.Unlock()
	return id, nil
}

// decodeName undoes Route 53's octal escapes in names (\052 for *).
func decodeName(n string) string {
	if !strings.Contains(n, `\`) {
		return n
	}
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] == '\\' && i+3 < len(n) {
			if v, err := strconv.ParseUint(n[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(n[i])
	}
	return b.String()
}

// presentationTXT turns a Route 53 TXT value ("a" "b", octal escapes) into
// standard presentation format (decimal \DDD escapes) for CanonicalTXT.
func presentationTXT(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 >= len(v) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+4], 8, 8); err == nil {
				fmt.Fprintf(&b, `\%03d`, n)
				i += 3
				continue
			}
		}
		b.WriteByte(c)
		b.WriteByte(v[i+1])
		i++
	}
	return b.String()
}

// encodeTXT writes text as Route 53 wants it: strings of at most 255 bytes,
// quoted, with " and \ escaped and bytes outside printable ASCII written
// as octal escapes.
func encodeTXT(text string) string {
	parts := providers.SplitTXT(text)
	for i, s := range parts {
		var b strings.Builder
		b.WriteByte('"')
		for j := 0; j < len(s); j++ {
			c := s[j]
			switch {
			case c < 32 || c >= 127:
				fmt.Fprintf(&b, `\%03o`, c)
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		parts[i] = b.String()
	}
	return strings.Join(parts, " ")
}

// encode returns the Route 53 value of a canonical record.
func encode(rr libdns.RR) string {
	if rr.Type == "TXT" || rr.Type == "SPF" {
		return encodeTXT(rr.Data)
	}
	return rr.Data
}

// decode returns the canonical records of a record set (none for an alias).
func decode(set types.ResourceRecordSet, zone string) ([]libdns.RR, error) {
	if set.AliasTarget != nil {
		return nil, nil
	}
	name := providers.RelativeName(decodeName(aws.ToString(set.Name)), zone)
	typ := string(set.Type)
	ttl := time.Duration(aws.ToInt64(set.TTL)) * time.Second
	out := make([]libdns.RR, 0, len(set.ResourceRecords))
	for _, r := range set.ResourceRecords {
		data := aws.ToString(r.Value)
		if typ == "TXT" || typ == "SPF" {
			data = presentationTXT(data)
		}
		rr, err := providers.Normalize(libdns.RR{Name: name, Type: typ, TTL: ttl, Data: data}, zone)
		if err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

// GetRecords implements libdns.RecordGetter: every record of the zone in
// canonical form (alias record sets are left out). One request per 300
// record sets, plus one zone lookup on first use without hosted_zone_id.
func (p *Provider) GetRecords(ctx context.Context, zone string) ([]libdns.Record, error) {
	cl, err := p.api(ctx)
	if err != nil {
		return nil, err
	}
	zid, err := p.zoneID(ctx, cl, zone)
	if err != nil {
		return nil, err
	}
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), MaxItems: aws.Int32(listPageSize)}
	var out []libdns.Record
	for {
		page, err := cl.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("route53: reading zone %q: %w", zone, p.classify(err))
		}
		for _, set := range page.ResourceRecordSets {
			rrs, err := decode(set, zone)
			if err != nil {
				return nil, fmt.Errorf("route53: reading zone %q: %w", zone, err)
			}
			for _, rr := range rrs {
				out = append(out, rr)
			}
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// liveSet is one record set as read: its raw values (for an exact DELETE)
// and their canonical forms.
type liveSet struct {
	raw   types.ResourceRecordSet
	canon []libdns.RR
}

// readSets returns the record sets at name (canonical, relative) of type
// typ ("" for every type): one request.
func (p *Provider) readSets(ctx context.Context, cl *r53.Client, zid, zone, name, typ string) ([]liveSet, error) {
	fq := providers.AbsoluteName(name, zone)
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), StartRecordName: aws.String(fq), MaxItems: aws.Int32(100)}
	if typ != "" {
		in.StartRecordType = types.RRType(typ)
		in.MaxItems = aws.Int32(1)
	}
	page, err := cl.ListResourceRecordSets(ctx, in)
	if err != nil {
		return nil, p.classify(err)
	}
	var out []liveSet
	for _, set := range page.ResourceRecordSets {
		if strings.ToLower(decodeName(aws.ToString(set.Name))) != fq || (typ != "" && string(set.Type) != typ) {
			continue
		}
		if set.AliasTarget != nil || set.SetIdentifier != nil {
			return nil, fmt.Errorf("%s %s is an alias or routing-policy record set, which maildns does not change", fq, set.Type)
		}
		rrs, err := decode(set, zone)
		if err != nil {
			return nil, err
		}
		out = append(out, liveSet{raw: set, canon: rrs})
	}
	return out, nil
}

type rrsetKey = providers.RRsetKey

// zoneReadAt is the number of RRsets from which a write reads the whole
// zone (one request per 300 record sets) rather than each RRset (one
// request each): a zone with hundreds of policies is read in a few pages,
// not in hundreds of requests at 5 a second.
const zoneReadAt = 8

// readKeys returns the record sets of each key (in order), read one by one
// or, for many keys, by listing the zone.
func (p *Provider) readKeys(ctx context.Context, cl *r53.Client, zid, zone string, keys []rrsetKey) ([][]liveSet, error) {
	out := make([][]liveSet, len(keys))
	if len(keys) < zoneReadAt {
		for i, k := range keys {
			live, err := p.readSets(ctx, cl, zid, zone, k.Name, k.Type)
			if err != nil {
				return nil, fmt.Errorf("route53: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
			}
			out[i] = live
		}
		return out, nil
	}
	index := map[rrsetKey]int{}
	for i, k := range keys {
		index[k] = i
	}
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), MaxItems: aws.Int32(listPageSize)}
	for {
		page, err := cl.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("route53: reading zone %q: %w", zone, p.classify(err))
		}
		for _, set := range page.ResourceRecordSets {
			k := rrsetKey{Name: providers.RelativeName(decodeName(aws.ToString(set.Name)), zone), Type: string(set.Type)}
			i, ok := index[k]
			if !ok {
				continue
			}
			if set.AliasTarget != nil || set.SetIdentifier != nil {
				return nil, fmt.Errorf("route53: %s %s in zone %q is an alias or routing-policy record set, which maildns does not change", k.Name, k.Type, zone)
			}
			rrs, err := decode(set, zone)
			if err != nil {
				return nil, fmt.Errorf("route53: reading zone %q: %w", zone, err)
			}
			out[i] = append(out[i], liveSet{raw: set, canon: rrs})
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// prepare groups recs by RRset and finds the client and hosted zone of a
// write ("setting", "adding", "deleting" name it in errors); no RRset: nothing.
func (p *Provider) prepare(ctx context.Context, zone string, recs []libdns.Record, verb string) ([]rrsetKey, map[rrsetKey][]libdns.RR, *r53.Client, string, error) {
	keys, sets, err := providers.GroupRRsets(recs, zone)
	if err != nil {
		return nil, nil, nil, "", fmt.Errorf("route53: %s: %w", verb, err)
	}
	if len(keys) == 0 {
		return nil, nil, nil, "", nil
	}
	cl, err := p.api(ctx)
	if err != nil {
		return nil, nil, nil, "", err
	}
	zid, err := p.zoneID(ctx, cl, zone)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return keys, sets, cl, zid, nil
}

func ttlOf(rrs []libdns.RR) int64 {
	for _, rr := range rrs {
		if rr.TTL > 0 {
			return int64(rr.TTL / time.Second)
		}
	}
	return defaultTTL
}

// change sends the changes as one batch, which applies whole or not at all
// (Route 53 takes up to 1000 changes in a batch).
func (p *Provider) change(ctx context.Context, cl *r53.Client, zid, zone, what string, changes []types.Change) error {
	_, err := cl.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zid),
		ChangeBatch:  &types.ChangeBatch{Changes: changes, Comment: aws.String("maildns")},
	})
	if err != nil {
		var icb *types.InvalidChangeBatch
		if errors.As(err, &icb) && len(icb.Messages) > 0 {
			return p.red.Error(fmt.Errorf("route53: %s in zone %q: rejected: %s: %w", what, zone, strings.Join(icb.Messages, "; "), err))
		}
		return fmt.Errorf("route53: %s in zone %q: %w", what, zone, p.classify(err))
	}
	return nil
}

func newSet(k rrsetKey, zone string, ttl int64, values []string) *types.ResourceRecordSet {
	rs := make([]types.ResourceRecord, len(values))
	for i, v := range values {
		rs[i] = types.ResourceRecord{Value: aws.String(v)}
	}
	return &types.ResourceRecordSet{Name: aws.String(providers.AbsoluteName(k.Name, zone)), Type: types.RRType(k.Type), TTL: aws.Int64(ttl), ResourceRecords: rs}
}

func describe(keys []rrsetKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Name + " " + k.Type
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// SetRecords implements libdns.RecordSetter: each RRset in recs gets exactly
// the values given. One request (one UPSERT batch), whatever the number of
// RRsets; it applies whole or not at all.
func (p *Provider) SetRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	keys, sets, cl, zid, err := p.prepare(ctx, zone, recs, "setting")
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	var changes []types.Change
	var out []libdns.Record
	for _, k := range keys {
		seen := map[string]bool{}
		var values []string
		for _, rr := range sets[k] {
			if seen[rr.Data] {
				continue
			}
			seen[rr.Data] = true
			values = append(values, encode(rr))
			out = append(out, rr)
		}
		changes = append(changes, types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: newSet(k, zone, ttlOf(sets[k]), values)})
	}
	if err := p.change(ctx, cl, zid, zone, "setting "+describe(keys), changes); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendRecords implements libdns.RecordAppender: values already present
// are not added twice; an RRset keeps its TTL. One read per RRset touched,
// then one change request.
func (p *Provider) AppendRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	keys, sets, cl, zid, err := p.prepare(ctx, zone, recs, "adding")
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	var changes []types.Change
	var out []libdns.Record
	for _, k := range keys {
		live, err := p.readSets(ctx, cl, zid, zone, k.Name, k.Type)
		if err != nil {
			return nil, fmt.Errorf("route53: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
		}
		have := map[string]bool{}
		var values []string
		ttl := ttlOf(sets[k])
		if len(live) == 1 {
			for i, rr := range live[0].canon {
				have[rr.Data] = true
				values = append(values, aws.ToString(live[0].raw.ResourceRecords[i].Value))
			}
			ttl = aws.ToInt64(live[0].raw.TTL)
		}
		added := false
		for _, rr := range sets[k] {
			if !have[rr.Data] {
				have[rr.Data] = true
				values = append(values, encode(rr))
				added = true
			}
			out = append(out, rr)
		}
		if !added {
			continue
		}
		if len(live) == 1 {
			old := live[0].raw
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old})
		}
		changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: newSet(k, zone, ttl, values)})
	}
	if len(changes) > 0 {
		if err := p.change(ctx, cl, zid, zone, "adding to "+describe(keys), changes); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func matchesAny(have libdns.RR, want []libdns.RR) bool {
	for _, w := range want {
		if (w.Type == "" || w.Type == have.Type) && (w.Data == "" || w.Data == have.Data) && (w.TTL == 0 || w.TTL == have.TTL) {
			return true
		}
	}
	return false
}

// DeleteRecords implements libdns.RecordDeleter: matching is on canonical
// data, and an empty type, empty data or zero TTL match any. An RRset left
// with other values keeps them exactly as stored. One read per RRset
// touched, then one change request.
func (p *Provider) DeleteRecords(ctx context.Context, zone string, recs []libdns.Record) ([]libdns.Record, error) {
	keys, sets, cl, zid, err := p.prepare(ctx, zone, recs, "deleting")
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	var changes []types.Change
	var deleted []libdns.Record
	for _, k := range keys {
		live, err := p.readSets(ctx, cl, zid, zone, k.Name, k.Type)
		if err != nil {
			return nil, fmt.Errorf("route53: reading %s %s in zone %q: %w", k.Name, k.Type, zone, err)
		}
		for _, ls := range live {
			var keep []string
			gone := 0
			for i, rr := range ls.canon {
				if matchesAny(rr, sets[k]) {
					deleted = append(deleted, rr)
					gone++
					continue
				}
				keep = append(keep, aws.ToString(ls.raw.ResourceRecords[i].Value))
			}
			if gone == 0 {
				continue
			}
			old := ls.raw
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old})
			if len(keep) > 0 {
				changes = append(changes, types.Change{Action: types.ChangeActionCreate,
					ResourceRecordSet: newSet(rrsetKey{Name: k.Name, Type: string(old.Type)}, zone, aws.ToInt64(old.TTL), keep)})
			}
		}
	}
	if len(changes) > 0 {
		if err := p.change(ctx, cl, zid, zone, "deleting from "+describe(keys), changes); err != nil {
			return nil, err
		}
	}
	return deleted, nil
}

// ReplaceRecords implements providers.Replacer. Each RRset (name, type) it
// touches is read (one request each; the whole zone, one request per 300
// record sets, from 8 RRsets up), then one batch (one request) deletes
// every such RRset as read and creates it anew: the values read, byte for
// byte, less those of remove (matched on canonical data, whatever the TTL),
// plus those of add not already there. Route 53 applies the batch whole or
// not at all, and fails it rather than overwrite an RRset changed since it
// was read. An RRset left with no value is deleted. An RRset has one TTL:
// the TTL of the first record of add at that RRset, else the one it has.
func (p *Provider) ReplaceRecords(ctx context.Context, zone string, remove, add []libdns.Record) ([]libdns.Record, error) {
	return p.replace(ctx, zone, nil, remove, add)
}

// ReplaceRecordsIf implements providers.ConditionalReplacer, atomically:
// the RRsets of expect and those remove and add touch are read (one request
// each) and compared with expect (a difference: a *providers.ChangedError,
// nothing written); then one change batch carries, for each such RRset, a
// DELETE of the RRset exactly as read (every value as Route 53 stores it,
// and its TTL) followed by a CREATE of what it becomes, and a CREATE alone
// for an RRset expected absent. An RRset of expect that does not change is
// deleted and created again as it is, so that it too is checked by the
// batch. Route 53 applies a batch whole or not at all and refuses a DELETE
// that does not match what it holds and a CREATE of an RRset that exists:
// a zone changed between the read and the write fails the whole batch,
// which is reported as a *providers.ChangedError. The one thing not checked
// in the batch is that an RRset expected absent and left absent stays so.
// A write beyond Route 53's limits for one batch (1,000 values, 32,000
// characters) goes in several batches of whole RRsets, each checked and
// applied whole or not at all; a later one refused leaves the earlier
// ones written.
func (p *Provider) ReplaceRecordsIf(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if expect == nil {
		expect = []providers.RRsetState{}
	}
	return p.replace(ctx, zone, expect, remove, add)
}

// replace is ReplaceRecords, and ReplaceRecordsIf when expect is not nil.
func (p *Provider) replace(ctx context.Context, zone string, expect []providers.RRsetState, remove, add []libdns.Record) ([]libdns.Record, error) {
	if err := providers.CheckReplace(remove, add); err != nil {
		return nil, fmt.Errorf("route53: zone %q: %w", zone, err)
	}
	rkeys, rsets, err := providers.GroupRRsets(remove, zone)
	if err != nil {
		return nil, fmt.Errorf("route53: replacing: %w", err)
	}
	akeys, asets, err := providers.GroupRRsets(add, zone)
	if err != nil {
		return nil, fmt.Errorf("route53: replacing: %w", err)
	}
	conditional := expect != nil
	keys := rkeys
	seen := map[rrsetKey]bool{}
	for _, k := range rkeys {
		seen[k] = true
	}
	for _, k := range akeys {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	touched := len(keys)
	for _, e := range expect {
		k := rrsetKey{Name: providers.RelativeName(e.Name, zone), Type: strings.ToUpper(e.Type)}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if touched == 0 {
		return nil, nil
	}
	cl, err := p.api(ctx)
	if err != nil {
		return nil, err
	}
	zid, err := p.zoneID(ctx, cl, zone)
	if err != nil {
		return nil, err
	}
	lives, err := p.readKeys(ctx, cl, zid, zone, keys)
	if err != nil {
		return nil, err
	}
	var read []libdns.Record
	for _, live := range lives {
		for _, ls := range live {
			for _, rr := range ls.canon {
				read = append(read, rr)
			}
		}
	}
	if err := providers.CheckExpect(zone, expect, read); err != nil {
		return nil, fmt.Errorf("route53: zone %q: %w", zone, err)
	}
	var changes, guards []types.Change
	var out []libdns.Record
	for i, k := range keys {
		live := lives[i]
		if i >= touched {
			// Expected, not touched: deleted and created as it is.
			if len(live) == 1 {
				old := live[0].raw
				guards = append(guards, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old},
					types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &old})
			}
			continue
		}
		gone := map[string]bool{}
		for _, rr := range rsets[k] {
			gone[rr.Data] = true
		}
		have := map[string]bool{}
		var values []string
		changed := false
		var ttl int64 = defaultTTL
		if len(live) == 1 {
			ttl = aws.ToInt64(live[0].raw.TTL)
			for i, rr := range live[0].canon {
				if gone[rr.Data] {
					changed = true
					continue
				}
				have[rr.Data] = true
				values = append(values, aws.ToString(live[0].raw.ResourceRecords[i].Value))
			}
		}
		if len(asets[k]) > 0 {
			if t := ttlOf(asets[k]); t != ttl {
				ttl, changed = t, true
			}
		}
		for _, rr := range asets[k] {
			out = append(out, rr)
			if have[rr.Data] {
				continue
			}
			have[rr.Data] = true
			values = append(values, encode(rr))
			changed = true
		}
		if !changed {
			if conditional && len(live) == 1 {
				old := live[0].raw
				guards = append(guards, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old},
					types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &old})
			}
			continue
		}
		if len(live) == 1 {
			old := live[0].raw
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old})
		}
		if len(values) > 0 {
			changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: newSet(k, zone, ttl, values)})
		}
	}
	if len(changes) == 0 {
		return out, nil // nothing to change: no batch, no guards
	}
	changes = append(changes, guards...)
	for _, batch := range packBatches(changes) {
		if err := p.change(ctx, cl, zid, zone, "replacing in "+describe(keys[:touched]), batch); err != nil {
			if conditional {
				if ce := p.changedError(ctx, cl, zid, zone, expect, err); ce != nil {
					return nil, fmt.Errorf("route53: replacing in zone %q: the change batch no longer matches the zone: %w", zone, ce)
				}
			}
			return nil, err
		}
	}
	return out, nil
}

// Route 53's limits on one change batch: ResourceRecord elements, and
// characters in all their values (an UPSERT counts twice).
const (
	maxBatchRecords = 1000
	maxBatchChars   = 32000
)

// packBatches cuts changes into batches within Route 53's limits, never
// splitting the changes of one RRset (its DELETE and CREATE are adjacent):
// one batch whenever they fit, and each batch whole or not at all.
func packBatches(changes []types.Change) [][]types.Change {
	size := func(c types.Change) (int, int) {
		n, chars := 0, 0
		if c.ResourceRecordSet != nil {
			for _, r := range c.ResourceRecordSet.ResourceRecords {
				n++
				chars += len(aws.ToString(r.Value))
			}
		}
		if c.Action == types.ChangeActionUpsert {
			n, chars = 2*n, 2*chars
		}
		return n, chars
	}
	var out [][]types.Change
	var cur []types.Change
	n, chars := 0, 0
	for i := 0; i < len(changes); {
		// One RRset's changes: those naming the same name and type.
		j := i + 1
		for j < len(changes) && sameSet(changes[i], changes[j]) {
			j++
		}
		gn, gc := 0, 0
		for _, c := range changes[i:j] {
			a, b := size(c)
			gn, gc = gn+a, gc+b
		}
		if len(cur) > 0 && (n+gn > maxBatchRecords || chars+gc > maxBatchChars) {
			out = append(out, cur)
			cur, n, chars = nil, 0, 0
		}
		cur = append(cur, changes[i:j]...)
		n, chars = n+gn, chars+gc
		i = j
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func sameSet(a, b types.Change) bool {
	x, y := a.ResourceRecordSet, b.ResourceRecordSet
	return x != nil && y != nil && strings.EqualFold(aws.ToString(x.Name), aws.ToString(y.Name)) && x.Type == y.Type
}

// batchMismatchRE finds the RRset Route 53 names when it refuses a batch
// because the zone does not hold what it says: a DELETE of an RRset that is
// not there or holds other values, a CREATE of an RRset that exists.
var batchMismatchRE = regexp.MustCompile(`name='([^']*)', type='([^']*)'.*(?:not found|already exists|do not match)`)

// changedError turns Route 53's refusal of a batch whose DELETEs or
// CREATEs no longer match the zone into a *providers.ChangedError naming
// the RRset (read again, one request, to say what it holds); nil for any
// other failure.
func (p *Provider) changedError(ctx context.Context, cl *r53.Client, zid, zone string, expect []providers.RRsetState, err error) *providers.ChangedError {
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		return nil
	}
	for _, msg := range icb.Messages {
		m := batchMismatchRE.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		name := providers.RelativeName(decodeName(m[1]), zone)
		typ := strings.ToUpper(m[2])
		ce := &providers.ChangedError{Zone: zone, Name: name, Type: typ}
		for _, e := range expect {
			if providers.RelativeName(e.Name, zone) == name && strings.EqualFold(e.Type, typ) {
				ce.Want = sortedValues(e.Values)
			}
		}
		if live, rerr := p.readSets(ctx, cl, zid, zone, name, typ); rerr == nil {
			var have []string
			for _, ls := range live {
				for _, rr := range ls.canon {
					have = append(have, rr.Data)
				}
			}
			ce.Have = sortedValues(have)
		}
		return ce
	}
	return nil
}

func sortedValues(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

// ListZones implements libdns.ZoneLister: every hosted zone of the account.
func (p *Provider) ListZones(ctx context.Context) ([]libdns.Zone, error) {
	cl, err := p.api(ctx)
	if err != nil {
		return nil, err
	}
	in := &r53.ListHostedZonesByNameInput{}
	var out []libdns.Zone
	for {
		page, err := cl.ListHostedZonesByName(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("route53: listing hosted zones: %w", p.classify(err))
		}
		for _, hz := range page.HostedZones {
			out = append(out, libdns.Zone{Name: strings.ToLower(decodeName(aws.ToString(hz.Name)))})
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.DNSName, in.HostedZoneId = page.NextDNSName, page.NextHostedZoneId
	}
}
