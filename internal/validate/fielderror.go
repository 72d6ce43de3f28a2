package validate

import "strconv"

// FieldError is a rejected input field: the JSON path of the field (such as
// "name" or "tiers[1].cpu") and a message for users (such as "must be between
// 1 and 10").
type FieldError struct {
	Field   string
	Message string
}

// Error returns "field: message", or the message alone when Field is empty.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Index returns the path of element i of the array field, e.g.
// Index("tiers", 1) is "tiers[1]".
func Index(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// fail returns a *FieldError as an error.
func fail(field, message string) error {
	return &FieldError{Field: field, Message: message}
}
