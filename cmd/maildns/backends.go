package main

// The provider backends maildns ships, registered by their init functions.
import (
	_ "github.com/maildns/maildns/providers/desec"
	_ "github.com/maildns/maildns/providers/route53"
)
