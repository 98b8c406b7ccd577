// Package contract holds the cross-backend contract suite: the same
// scenarios run against every provider backend (zone files, RFC 2136 on a
// real BIND 9, and the Cloudflare and Route 53 backends against their local
// fakes) through the real config loader, provider registry, wrappers and
// sync engine, counting provider calls and requests on the wire. It also
// validates every example config under configs/. The package has no code
// outside its tests.
package contract
