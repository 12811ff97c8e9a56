package audit

import (
	"encoding/json"
	"errors"
	"fmt"
)

// errNotObject is a record that is not a JSON object.
var errNotObject = errors.New("not a JSON object")

// topStrings reads the string members named by keys of a JSON object's top
// level, in one pass that skips every other value without decoding it: the
// sealer reads every event at start, and decoding each whole would double
// the time to be ready. out[i] receives the value of keys[i] ("" when
// absent). It checks the structure it walks, not every rule of JSON: the
// projection decodes each event whole, and verification hashes it.
func topStrings(doc []byte, keys []string, out []string) error {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return errNotObject
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == '}' {
		return nil
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return fmt.Errorf("offset %d: a member name expected", i)
		}
		end, escaped, err := stringEnd(doc, i)
		if err != nil {
			return err
		}
		name := doc[i+1 : end]
		if escaped {
			var s string
			if err := json.Unmarshal(doc[i:end+1], &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		i = skipSpace(doc, end+1)
		if i >= len(doc) || doc[i] != ':' {
			return fmt.Errorf("offset %d: ':' expected", i)
		}
		i = skipSpace(doc, i+1)
		start := i
		if i, err = skipValue(doc, i); err != nil {
			return err
		}
		for k, key := range keys {
			if string(name) != key {
				continue
			}
			if doc[start] != '"' {
				return fmt.Errorf("member %q is not a string", key)
			}
			if err := json.Unmarshal(doc[start:i], &out[k]); err != nil {
				return fmt.Errorf("member %q: %w", key, err)
			}
		}
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return errors.New("unexpected end of the object")
		}
		if doc[i] == '}' {
			return nil
		}
		if doc[i] != ',' {
			return fmt.Errorf("offset %d: ',' or '}' expected", i)
		}
		i = skipSpace(doc, i+1)
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the string at i.
func stringEnd(doc []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j, escaped, nil
		}
	}
	return 0, false, errors.New("unterminated string")
}

// skipValue returns the index just after the value at i.
func skipValue(doc []byte, i int) (int, error) {
	if i >= len(doc) {
		return 0, errors.New("a value expected")
	}
	switch doc[i] {
	case '"':
		end, _, err := stringEnd(doc, i)
		return end + 1, err
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				end, _, err := stringEnd(doc, j)
				if err != nil {
					return 0, err
				}
				j = end
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	default:
		j := i
		for j < len(doc) && doc[j] != ',' && doc[j] != '}' && doc[j] != ']' && doc[j] != ' ' && doc[j] != '\n' && doc[j] != '\t' && doc[j] != '\r' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("offset %d: a value expected", i)
		}
		return j, nil
	}
}
