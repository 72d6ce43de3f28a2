package validate

import "testing"

func TestParseRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, width int
		ok                bool
	}{
		{"003-050", 3, 50, 3, true},
		{"1-100", 1, 100, 1, true},
		{"7-7", 7, 7, 1, true},
		{"0000-9999", 0, 9999, 4, true},
		{"1-10000", 1, 10000, 1, true},
		{"0-10000", 0, 0, 0, false},
		{"050-003", 0, 0, 0, false},
		{"", 0, 0, 0, false},
		{"5", 0, 0, 0, false},
		{"-5", 0, 0, 0, false},
		{"5-", 0, 0, 0, false},
		{"1-2-3", 0, 0, 0, false},
		{"a-b", 0, 0, 0, false},
		{" 1-2", 0, 0, 0, false},
		{"+1-2", 0, 0, 0, false},
		{"1234567890-1234567891", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, end, width, err := ParseRange(tt.in)
			if (err == nil) != tt.ok || start != tt.start || end != tt.end || width != tt.width {
				t.Fatalf("ParseRange(%q) = %d, %d, %d, %v; want %d, %d, %d, ok=%v",
					tt.in, start, end, width, err, tt.start, tt.end, tt.width, tt.ok)
			}
		})
	}
}
