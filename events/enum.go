package events

import "strings"

// OneOf writes a list of allowed values for an error message or a help
// text: "one of land, tax, subsidy". Every such message is built from the
// list beside its type ([Kinds], [Units], [Statuses], [Types], …), so that
// a value added to the list is named everywhere it is accepted.
func OneOf[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return "one of " + strings.Join(s, ", ")
}
