package providers

import "testing"

func TestCanonicalTLSA(t *testing.T) {
	for in, want := range map[string]string{
		"3 1 1 ABCDEF0123":   "3 1 1 abcdef0123",
		"3 1 1 abcd EF01 23": "3 1 1 abcdef0123", // split in a zone file
		"  03 1 01   AbCd ":  "3 1 1 abcd",
		"3\t0\t1\tDEADBEEF":  "3 0 1 deadbeef",
	} {
		got, err := CanonicalData("TLSA", in, "example.com.")
		if err != nil || got != want {
			t.Errorf("CanonicalData(TLSA, %q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"3 1 1", "3 1 x ab", "256 1 1 ab", ""} {
		if got, err := CanonicalData("TLSA", bad, "example.com."); err == nil {
			t.Errorf("CanonicalData(TLSA, %q) = %q, want an error", bad, got)
		}
	}
}
