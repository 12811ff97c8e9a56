package main

import (
	"testing"

	"promiseledger/alerts"
)

// TestRuleNames_EveryRule: a rule added to alerts.Rules without a name
// here would print as an empty column.
func TestRuleNames_EveryRule(t *testing.T) {
	for _, r := range alerts.Rules {
		if ruleNames[r] == "" {
			t.Errorf("rule %s has no name for the terminal", r)
		}
	}
	if len(ruleNames) != len(alerts.Rules) {
		t.Errorf("%d names for %d rules", len(ruleNames), len(alerts.Rules))
	}
}
