// Package validate checks user input field by field: names, host names,
// emails, free text, labels and label selectors, addresses, batch ranges,
// permissions and the small enumerations of the API.
//
// Every validator is a pure function that takes the field's JSON path and the
// value and returns nil or a *FieldError whose message is written for the
// person who sent the request. Handlers usually go through a Validator, which
// keeps the first error:
//
//	v := validate.New()
//	v.UserName("name", in.Name)
//	if in.Email != nil {
//		v.Email("email", *in.Email)
//	}
//	for i, t := range in.Tiers {
//		v.Check(t.Cpu > 0, validate.Index("tiers", i)+".cpu", "must be greater than 0")
//	}
//	if err := v.Err(); err != nil {
//		return err // a *FieldError
//	}
package validate
