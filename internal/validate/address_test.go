package validate

import (
	"strings"
	"testing"
)

func TestAddress(t *testing.T) {
	runChecks(t, Address, []checkCase{
		{"10.0.0.1", true},
		{"10.0.0.1:22", true},
		{"::1", true},
		{"2001:db8::1", true},
		{"[2001:db8::1]:8443", true},
		{"node1.example.com", true},
		{"node1.example.com:65535", true},
		{"localhost:1", true},
		{"", false},
		{"10.0.0.1:0", false},
		{"10.0.0.1:65536", false},
		{"10.0.0.1:", false},
		{"10.0.0.1:+22", false},
		{"host:port", false},
		{"[2001:db8::1]", false},
		{"[10.0.0.1]:22", false},
		{"fe80::1%eth0", false},
		{"1.2.3.999", false},
		{"bad_name.example.com", false},
		{"-node.example.com", false},
		{"node..example.com", false},
		{"http://node1", false},
		{strings.Repeat("a", 64) + ".com", false},
	})
}

func TestRegistryAddress(t *testing.T) {
	runChecks(t, RegistryAddress, []checkCase{
		{"registry.example.com", true},
		{"registry.example.com:5000", true},
		{"registry.example.com:5000/team", true},
		{"10.0.0.5:5000/a/b__c/d-e.f", true},
		{"[2001:db8::1]:5000/lib", true},
		{"localhost/x", true},
		{"", false},
		{"registry.example.com/", false},
		{"registry.example.com//x", false},
		{"registry.example.com/Team", false},
		{"registry.example.com/-x", false},
		{"https://registry.example.com", false},
		{"registry.example.com:0/x", false},
		{"r.io/" + strings.Repeat("a", 251), false},
	})
}
