// check_tfjson reads plan JSON files with HashiCorp's own Go types for
// Terraform's JSON output format (github.com/hashicorp/terraform-json,
// Debian's golang-github-hashicorp-terraform-json-dev) and checks what the
// format's documentation says of each resource change. Exit 0 when every
// file passes, 1 with one line per problem otherwise.
//
// Debian 12 ships tfjson 0.5.0, whose Plan.UnmarshalJSON accepts format
// 0.1 only; later releases accept ">= 0.1, < 2.0". The plan's members are
// decoded with tfjson's types and the version is checked against the later
// constraint here.
//
// Usage: check_tfjson PLAN.json...
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

type masks struct {
	BeforeSensitive json.RawMessage `json:"before_sensitive"`
	AfterSensitive  json.RawMessage `json:"after_sensitive"`
	AfterUnknown    json.RawMessage `json:"after_unknown"`
}

type plan struct {
	FormatVersion    string                   `json:"format_version"`
	TerraformVersion *string                  `json:"terraform_version"`
	ResourceChanges  []*tfjson.ResourceChange `json:"resource_changes"`
	ResourceDrift    []*tfjson.ResourceChange `json:"resource_drift"`
}

type rawPlan struct {
	ResourceChanges []struct {
		Change masks `json:"change"`
	} `json:"resource_changes"`
}

func versionOK(v string) bool {
	parts := strings.SplitN(v, ".", 2)
	if len(parts) != 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && major >= 0 && major < 2 && (major > 0 || minor >= 1)
}

func address(rc *tfjson.ResourceChange) string {
	a := ""
	if rc.ModuleAddress != "" {
		a = rc.ModuleAddress + "."
	}
	if rc.Mode == tfjson.DataResourceMode {
		a += "data."
	}
	a += rc.Type + "." + rc.Name
	switch i := rc.Index.(type) {
	case nil:
	case string:
		a += "[" + strconv.Quote(i) + "]"
	case float64:
		a += "[" + strconv.Itoa(int(i)) + "]"
	}
	return a
}

// checkMask: every "(sensitive)" value is marked true; a null value has the
// mask false; an object value has an object mask.
func checkMask(v interface{}, raw json.RawMessage, what string) []string {
	var mask interface{}
	if len(raw) == 0 {
		return []string{what + "_sensitive missing"}
	}
	if err := json.Unmarshal(raw, &mask); err != nil {
		return []string{what + "_sensitive: " + err.Error()}
	}
	if v == nil {
		if mask != false {
			return []string{what + " is null but " + what + "_sensitive is not false"}
		}
		return nil
	}
	obj, ok := v.(map[string]interface{})
	m, mok := mask.(map[string]interface{})
	if !ok || !mok {
		return []string{what + " and " + what + "_sensitive must both be objects"}
	}
	var errs []string
	for k, x := range obj {
		if s, isStr := x.(string); isStr && s == "(sensitive)" && m[k] != true {
			errs = append(errs, what+"."+k+" is redacted but not marked sensitive")
		}
	}
	return errs
}

func checkChange(rc *tfjson.ResourceChange, mk masks) []string {
	var errs []string
	if rc.Mode != tfjson.ManagedResourceMode && rc.Mode != tfjson.DataResourceMode {
		errs = append(errs, fmt.Sprintf("mode %q is not managed or data", rc.Mode))
	}
	if rc.Type == "" || rc.Name == "" || rc.ProviderName == "" {
		errs = append(errs, "type, name or provider_name missing")
	}
	if address(rc) != rc.Address {
		errs = append(errs, fmt.Sprintf("address is not type.name[index] (%s)", address(rc)))
	}
	c := rc.Change
	if c == nil {
		return append(errs, "no change")
	}
	a := c.Actions
	if !(a.NoOp() || a.Create() || a.Read() || a.Update() || a.Delete() || a.Replace()) {
		errs = append(errs, fmt.Sprintf("actions %v are not a Terraform action list", a))
	}
	if a.Create() && c.Before != nil {
		errs = append(errs, "a create with a non-null before")
	}
	if a.Delete() && c.After != nil {
		errs = append(errs, "a delete with a non-null after")
	}
	if (a.Update() || a.NoOp()) && (c.Before == nil || c.After == nil) {
		errs = append(errs, "an update or no-op with a null before or after")
	}
	if c.AfterUnknown == nil && len(mk.AfterUnknown) == 0 {
		errs = append(errs, "after_unknown missing")
	}
	errs = append(errs, checkMask(c.Before, mk.BeforeSensitive, "before")...)
	errs = append(errs, checkMask(c.After, mk.AfterSensitive, "after")...)
	return errs
}

func checkFile(path string) (int, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, []string{err.Error()}
	}
	var p plan
	var raw rawPlan
	if err := json.Unmarshal(data, &p); err != nil {
		return 0, []string{"not a plan: " + err.Error()}
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return 0, []string{"not a plan: " + err.Error()}
	}
	var errs []string
	if !versionOK(p.FormatVersion) {
		errs = append(errs, fmt.Sprintf("format_version %q is not >= 0.1, < 2.0", p.FormatVersion))
	}
	for i, rc := range p.ResourceChanges {
		for _, e := range checkChange(rc, raw.ResourceChanges[i].Change) {
			errs = append(errs, rc.Address+": "+e)
		}
	}
	return len(p.ResourceChanges), errs
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: check_tfjson PLAN.json...")
		os.Exit(2)
	}
	bad := false
	for _, path := range os.Args[1:] {
		n, errs := checkFile(path)
		for _, e := range errs {
			fmt.Printf("%s: %s\n", path, e)
		}
		if len(errs) > 0 {
			bad = true
		} else {
			fmt.Printf("%s: %d resource changes read\n", path, n)
		}
	}
	if bad {
		os.Exit(1)
	}
}
