package validate

import "errors"

// Validator collects the outcome of several validations and keeps the first
// error. The zero value is ready to use.
type Validator struct {
	first *FieldError
}

// New returns an empty Validator.
func New() *Validator { return &Validator{} }

// Err returns the first recorded error, a *FieldError, or nil.
func (v *Validator) Err() error {
	if v.first == nil {
		return nil
	}
	return v.first
}

// Add records err unless it is nil or an error was recorded before. An error
// other than a *FieldError is kept as a FieldError with no field.
func (v *Validator) Add(err error) {
	if err == nil || v.first != nil {
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		fe = &FieldError{Message: err.Error()}
	}
	v.first = fe
}

// At records err, if not nil, as an error of field, keeping its message.
// Use it for errors from parsers and other packages, such as
// v.At("password", auth.CheckPassword(pw)).
func (v *Validator) At(field string, err error) {
	if err == nil || v.first != nil {
		return
	}
	msg := err.Error()
	var fe *FieldError
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	v.first = &FieldError{Field: field, Message: msg}
}

// Check records message for field unless ok holds.
func (v *Validator) Check(ok bool, field, message string) {
	if !ok {
		v.Add(fail(field, message))
	}
}

// UserName records the result of the package function UserName.
func (v *Validator) UserName(field, s string) { v.Add(UserName(field, s)) }

// TenantName records the result of the package function TenantName.
func (v *Validator) TenantName(field, s string) { v.Add(TenantName(field, s)) }

// HostName records the result of the package function HostName.
func (v *Validator) HostName(field, s string) { v.Add(HostName(field, s)) }

// Email records the result of the package function Email.
func (v *Validator) Email(field, s string) { v.Add(Email(field, s)) }

// DisplayName records the result of the package function DisplayName.
func (v *Validator) DisplayName(field, s string) { v.Add(DisplayName(field, s)) }

// Description records the result of the package function Description.
func (v *Validator) Description(field, s string) { v.Add(Description(field, s)) }

// LabelKey records the result of the package function LabelKey.
func (v *Validator) LabelKey(field, s string) { v.Add(LabelKey(field, s)) }

// Labels records the result of the package function Labels.
func (v *Validator) Labels(field string, m map[string]string) { v.Add(Labels(field, m)) }

// Address records the result of the package function Address.
func (v *Validator) Address(field, s string) { v.Add(Address(field, s)) }

// RegistryAddress records the result of the package function RegistryAddress.
func (v *Validator) RegistryAddress(field, s string) { v.Add(RegistryAddress(field, s)) }

// Permissions records the result of the package function Permissions.
func (v *Validator) Permissions(field string, ps, known []string) {
	v.Add(Permissions(field, ps, known))
}

// Overcommit records the result of the package function Overcommit.
func (v *Validator) Overcommit(field string, x float64) { v.Add(Overcommit(field, x)) }

// Strategy records the result of the package function Strategy.
func (v *Validator) Strategy(field, s string) { v.Add(Strategy(field, s)) }

// Role records the result of the package function Role.
func (v *Validator) Role(field, s string) { v.Add(Role(field, s)) }
