package discovery

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-03-05T14:22:31.123Z", utc(2024, 3, 5, 14, 22, 31, 123000000)},
		{"2024-03-05T14:22:31.1234567Z", utc(2024, 3, 5, 14, 22, 31, 123456700)},      // Entra's 7 digits
		{"2024-03-05T14:22:31.1234567+00:00", utc(2024, 3, 5, 14, 22, 31, 123456700)}, // diagnostic exports
		{"2024-03-05T16:22:31.5+02:00", utc(2024, 3, 5, 14, 22, 31, 500000000)},
		{"2024-03-05T09:22:31-0500", utc(2024, 3, 5, 14, 22, 31, 0)},
		{"2024-03-05 14:22:31", utc(2024, 3, 5, 14, 22, 31, 0)}, // no zone: UTC
		{"2024-03-05 14:22:31.1234567", utc(2024, 3, 5, 14, 22, 31, 123456700)},
		{"2024-03-05T14:22:31", utc(2024, 3, 5, 14, 22, 31, 0)},
		{"2024-03-05 14:22:31 UTC", utc(2024, 3, 5, 14, 22, 31, 0)},
		{"2024-03-05 14:22", utc(2024, 3, 5, 14, 22, 0, 0)},
		{"1709648551", utc(2024, 3, 5, 14, 22, 31, 0)},
		{"1709648551123", utc(2024, 3, 5, 14, 22, 31, 123000000)},
		// Slash dates only when the order is certain.
		{"03/15/2024 14:22:31", utc(2024, 3, 15, 14, 22, 31, 0)},   // US, day > 12
		{"3/15/2024, 2:22:31 PM", utc(2024, 3, 15, 14, 22, 31, 0)}, // the Entra portal's
		{"3/15/2024 12:05:00 AM", utc(2024, 3, 15, 0, 5, 0, 0)},    // midnight
		{"15/03/2024 14:22", utc(2024, 3, 15, 14, 22, 0, 0)},       // day first, day > 12
		{"05/05/2024 10:00:00", utc(2024, 5, 5, 10, 0, 0, 0)},      // same either way
		{"03/15/2024 14:22:31.25 UTC", utc(2024, 3, 15, 14, 22, 31, 250000000)},
		{"12/31/2024", utc(2024, 12, 31, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}

	bad := []struct{ in, reason string }{
		{"", "no time"},
		{"03/05/2024 14:22:31", "ambiguous"},
		{"3/5/2024, 2:22:31 PM", "ambiguous"},
		{"13/13/2024 10:00", "no such date"},
		{"02/30/2024 10:00", "no such date"},
		{"31/02/2024 10:00", "no such date"},
		{"03/15/24 10:00", "expected a date"},
		{"03/15/2024 25:00", "no such time"},
		{"03/15/2024 13:00 PM", "12-hour"},
		{"03/15/2024 PM", "AM/PM without a time"},
		{"2024-02-30T25:61:00.000Z", "unrecognised"},
		{"yesterday", "unrecognised"},
		{"1709648551123456", "unrecognised"},
		{"1800-01-01T00:00:00Z", "out of range"},
		{"9999-12-31T23:59:59Z", "out of range"},
		{"2024-03-05T14:22:31 PST", "unrecognised"}, // a zone abbreviation would be guessed as UTC
	}
	for _, tt := range bad {
		_, err := parseTime(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("parseTime(%q) error = %v, want one saying %q", tt.in, err, tt.reason)
		}
	}
}
