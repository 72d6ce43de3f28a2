package validate

import (
	"strings"
	"testing"
)

func TestUserName(t *testing.T) {
	runChecks(t, UserName, []checkCase{
		{"ab", true},
		{"alice", true},
		{"bob.smith_2-x", true},
		{"a" + strings.Repeat("b", 62), true},
		{"a" + strings.Repeat("b", 63), false},
		{"a", false},
		{"", false},
		{"Alice", false},
		{"1abc", false},
		{"_abc", false},
		{"al ice", false},
		{"alicé", false},
	})
}

func TestTenantName(t *testing.T) {
	runChecks(t, TenantName, []checkCase{
		{"RD_Dept", true},
		{"default", true},
		{"a.b-c", true},
		{"A" + strings.Repeat("b", 62), true},
		{"A" + strings.Repeat("b", 63), false},
		{"R", false},
		{"9lives", false},
		{"-x", false},
		{"RD Dept", false},
		{"", false},
	})
}

func TestHostName(t *testing.T) {
	runChecks(t, HostName, []checkCase{
		{"node", true},
		{"node-01", true},
		{"0abc", true},
		{"a--b", true},
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
		{"abc", false},
		{"-abc", false},
		{"abc-", false},
		{"Node", false},
		{"node_1", false},
		{"node.1", false},
		{"", false},
	})
}
