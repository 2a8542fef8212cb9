package products

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSignV4Vectors signs requests from AWS's Signature Version 4 test suite (credentials
// AKIDEXAMPLE, region us-east-1, service "service", 2015-08-30 12:36:00 UTC) and compares
// the Authorization header with the suite's.
func TestSignV4Vectors(t *testing.T) {
	s := signer{accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "service"}
	when := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	const scope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	tests := []struct {
		name, method, url, contentType, body string
		want                                 string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/", "", "",
			scope + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "", "",
			scope + "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-utf8", "GET", "https://example.amazonaws.com/ሴ", "", "",
			scope + "SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
		{"post-vanilla", "POST", "https://example.amazonaws.com/", "", "",
			scope + "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/", "application/x-www-form-urlencoded", "Param1=value1",
			scope + "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			s.sign(req, []byte(tt.body), when)
			if got := req.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
				t.Errorf("X-Amz-Date = %q, want 20150830T123600Z", got)
			}
			if got := req.Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization =\n  %s\nwant\n  %s", got, tt.want)
			}
		})
	}
}

// TestSignV4Resigns: signing again (a retry) replaces the old signature instead of signing it.
func TestSignV4Resigns(t *testing.T) {
	s := signer{accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "service"}
	req, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	s.sign(req, nil, time.Date(2015, 8, 30, 12, 0, 0, 0, time.UTC))
	s.sign(req, nil, time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	if got, want := req.Header.Get("Authorization"), "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"; !strings.HasSuffix(got, want) {
		t.Errorf("Authorization = %s, want it to end %s", got, want)
	}
}
