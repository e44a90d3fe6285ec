package discovery

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// isoLayouts are tried in order by parseTime. Go's parser accepts a fractional second of any
// length after the seconds even when the layout has none, which covers Entra's 7-digit fractions.
var isoLayouts = []string{
	time.RFC3339,                 // 2024-03-05T14:22:31.1234567Z, …+01:00
	"2006-01-02T15:04:05Z0700",   // offset without a colon
	"2006-01-02 15:04:05Z07:00",  // space instead of T
	"2006-01-02 15:04:05Z0700",   //
	"2006-01-02 15:04:05 Z07:00", //
	"2006-01-02T15:04:05",        // no zone: UTC
	"2006-01-02 15:04:05",        // no zone: UTC
	"2006-01-02T15:04",           //
	"2006-01-02 15:04",           //
}

// Times outside these bounds are typing errors or overflow, not log records.
var (
	minTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseTime reads the time layouts found in IdP logs and exports and returns it in UTC:
//   - ISO 8601 / RFC 3339 with any fraction length, "Z" or a numeric offset; a "T" or a space
//     between date and time; no zone at all means UTC (Entra exports are in UTC);
//   - Unix time in seconds (10 digits) or milliseconds (13 digits);
//   - slash dates "M/D/YYYY h:mm[:ss][ AM|PM]" (US, the Entra portal's) or "D/M/YYYY …", but only
//     when the order is certain: one of the two numbers is over 12, or both are equal. "3/5/2024"
//     is refused as ambiguous rather than guessed.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, &fieldError{"no time"}
	}
	var t time.Time
	var err error
	switch {
	case allDigits(s) && (len(s) == 10 || len(s) == 13):
		n, _ := strconv.ParseInt(s, 10, 64)
		if len(s) == 10 {
			t = time.Unix(n, 0)
		} else {
			t = time.UnixMilli(n)
		}
	case strings.Contains(s, "/"):
		t, err = parseSlashTime(s)
	default:
		err = &fieldError{fmt.Sprintf("unrecognised time %q: use ISO 8601 (2024-03-05T14:22:31Z)", clip(s))}
		iso := s
		for _, utc := range []string{" UTC", " GMT"} {
			iso = strings.TrimSuffix(iso, utc)
		}
		for _, layout := range isoLayouts {
			if pt, perr := time.Parse(layout, iso); perr == nil {
				t, err = pt, nil
				break
			}
		}
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, &fieldError{fmt.Sprintf("time %q is out of range", clip(s))}
	}
	return t, nil
}

// parseSlashTime reads "a/b/YYYY[,] h:mm[:ss[.fff]][ AM|PM][ UTC|Z]".
func parseSlashTime(s string) (time.Time, error) {
	bad := func(why string) error {
		return &fieldError{fmt.Sprintf("time %q: %s", clip(s), why)}
	}
	datePart, rest, _ := strings.Cut(s, " ")
	datePart = strings.TrimSuffix(datePart, ",")
	rest = strings.TrimSpace(rest)
	d := strings.Split(datePart, "/")
	if len(d) != 3 || len(d[2]) != 4 {
		return time.Time{}, bad("expected a date like 03/15/2024")
	}
	var n [3]int
	for i, part := range d {
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 || len(part) > 4 {
			return time.Time{}, bad("expected a date like 03/15/2024")
		}
		n[i] = v
	}
	a, b, year := n[0], n[1], n[2]
	var month, day int
	switch {
	case a >= 1 && a <= 12 && b > 12 && b <= 31:
		month, day = a, b // US: month first
	case b >= 1 && b <= 12 && a > 12 && a <= 31:
		month, day = b, a // day first
	case a == b && a >= 1 && a <= 12:
		month, day = a, b
	case a >= 1 && a <= 12 && b >= 1 && b <= 12:
		return time.Time{}, bad("ambiguous date: day and month are both 12 or less; export with ISO 8601 times")
	default:
		return time.Time{}, bad("no such date")
	}

	// Time of day.
	zone := time.UTC
	fields := strings.Fields(rest)
	var clock, ampm string
	for _, f := range fields {
		switch u := strings.ToUpper(f); u {
		case "AM", "PM":
			ampm = u
		case "UTC", "Z", "GMT":
		default:
			if clock != "" {
				return time.Time{}, bad("unexpected " + strconv.Quote(f))
			}
			clock = f
		}
	}
	var hh, mm, ss, nanos int
	if clock != "" {
		c := strings.Split(clock, ":")
		if len(c) < 2 || len(c) > 3 {
			return time.Time{}, bad("expected a time of day like 14:22:31")
		}
		var err error
		if hh, err = strconv.Atoi(c[0]); err != nil {
			return time.Time{}, bad("bad hour")
		}
		if mm, err = strconv.Atoi(c[1]); err != nil || len(c[1]) != 2 {
			return time.Time{}, bad("bad minute")
		}
		if len(c) == 3 {
			sec, frac, _ := strings.Cut(c[2], ".")
			if ss, err = strconv.Atoi(sec); err != nil || len(sec) != 2 {
				return time.Time{}, bad("bad second")
			}
			if frac != "" {
				if len(frac) > 9 || !allDigits(frac) {
					return time.Time{}, bad("bad fraction of a second")
				}
				nanos, _ = strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
			}
		}
	} else if ampm != "" {
		return time.Time{}, bad("AM/PM without a time")
	}
	switch ampm {
	case "AM", "PM":
		if hh < 1 || hh > 12 {
			return time.Time{}, bad("bad hour for a 12-hour clock")
		}
		if hh == 12 {
			hh = 0
		}
		if ampm == "PM" {
			hh += 12
		}
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, bad("no such time of day")
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nanos, zone)
	if t.Day() != day || int(t.Month()) != month {
		return time.Time{}, bad("no such date")
	}
	return t, nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	if len(s) > 60 {
		return excerpt([]byte(s[:60])) + "…"
	}
	return s
}
