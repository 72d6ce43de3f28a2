package validate

import "regexp"

var (
	userNameRE   = regexp.MustCompile(`^[a-z][a-z0-9_.-]{1,62}$`)
	tenantNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{1,62}$`)
	hostNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,28}[a-z0-9]$`)
)

// UserName checks a user name: 2-63 characters of lowercase letters, digits,
// '_', '.' and '-', starting with a letter.
func UserName(field, s string) error {
	if !userNameRE.MatchString(s) {
		return fail(field, "must be 2-63 characters of lowercase letters, digits, '_', '.' and '-', starting with a letter")
	}
	return nil
}

// TenantName checks a tenant, group or cluster name: 2-63 characters of
// letters, digits, '_', '.' and '-', starting with a letter (e.g. "RD_Dept").
func TenantName(field, s string) error {
	if !tenantNameRE.MatchString(s) {
		return fail(field, "must be 2-63 characters of letters, digits, '_', '.' and '-', starting with a letter")
	}
	return nil
}

// HostName checks a host name: 4-30 characters of lowercase letters, digits
// and dashes, not starting or ending with a dash.
func HostName(field, s string) error {
	if !hostNameRE.MatchString(s) {
		return fail(field, "must be 4-30 characters of lowercase letters, digits and dashes, not starting or ending with a dash")
	}
	return nil
}
