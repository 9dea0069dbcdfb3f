package zendesksim

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the tz database, whatever the machine has
)

// TestTimeZones checks the table against the tz database: every IANA name
// exists, and each offset is the zone's standard offset (the smaller of
// January's and July's, whichever hemisphere keeps summer time).
func TestTimeZones(t *testing.T) {
	zones := TimeZones()
	if len(zones) != 151 {
		t.Errorf("%d time zones, want Rails' 151", len(zones))
	}
	names := map[string]bool{}
	for i, z := range zones {
		if names[z.Name] {
			t.Errorf("%q listed twice", z.Name)
		}
		names[z.Name] = true
		loc, err := time.LoadLocation(z.IANAName)
		if err != nil {
			t.Errorf("%s: %v", z.Name, err)
			continue
		}
		_, jan := time.Date(2026, 1, 15, 12, 0, 0, 0, loc).Zone()
		_, jul := time.Date(2026, 7, 15, 12, 0, 0, 0, loc).Zone()
		if want := min(jan, jul) / 60; z.Offset != want {
			t.Errorf("%s (%s): offset %d, want %d", z.Name, z.IANAName, z.Offset, want)
		}
		if z.TranslatedName != z.Name {
			t.Errorf("%s: translated name %q", z.Name, z.TranslatedName)
		}
		if i > 0 && (zones[i-1].Offset > z.Offset || zones[i-1].Offset == z.Offset && zones[i-1].Name > z.Name) {
			t.Errorf("%s is out of order after %s", z.Name, zones[i-1].Name)
		}
	}
	for _, name := range []string{"Eastern Time (US & Canada)", "Amsterdam", "Copenhagen", "UTC", "Kyiv"} {
		if !names[name] {
			t.Errorf("%q missing", name)
		}
	}
	if names["Europe/Amsterdam"] || names["Mars"] {
		t.Error("only Zendesk's names are time zones")
	}

	// The shape List Time Zones answers.
	i := slices.IndexFunc(zones, func(z TimeZone) bool { return z.Name == "Newfoundland" })
	b, _ := json.Marshal(zones[i])
	if want := `{"name":"Newfoundland","translated_name":"Newfoundland","iana_name":"America/St_Johns","offset":-210,"formatted_offset":"GMT-03:30"}`; string(b) != want {
		t.Errorf("Newfoundland is %s, want %s", b, want)
	}
	for offset, want := range map[int]string{0: "GMT+00:00", 60: "GMT+01:00", 345: "GMT+05:45", -660: "GMT-11:00", 780: "GMT+13:00"} {
		if got := formatOffset(offset); got != want {
			t.Errorf("formatOffset(%d) = %q, want %q", offset, got, want)
		}
	}
	// A copy: changing it changes nothing.
	zones[0].Name = "changed"
	if TimeZones()[0].Name == "changed" {
		t.Error("TimeZones must return a copy")
	}
}
