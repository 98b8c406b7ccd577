// Package check owns the live checks of a domain (SPF, DKIM, DMARC, MX,
// forward-confirmed reverse DNS, TLS-RPT, BIMI, DANE, MTA-STS), the
// compliance scorecard, and the resolvers the checks ask: the network's
// (DNSResolver), a run's cache (CachingResolver) and the zones read this
// run (ZoneResolver). A check sees a domain's policy, its compiled records
// and its zone as read (Env) and returns findings of the plan. It knows
// nothing of providers, of the engine that runs it, nor of the journal: of
// maildns it imports only policy, sync/plan and internal/canon (the
// canonical record form).
package check
