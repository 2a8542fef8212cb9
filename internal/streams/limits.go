package streams

import (
	"encoding/json"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// EventLimitBreach is written when an input goes over its channel type's limits; the
// publisher is then disconnected.
const EventLimitBreach = "Limit Breach"

// Limits are the input caps of a channel type, as the managed service sets them.
type Limits struct {
	MaxPixels  int // width × height
	MaxEdge    int
	MaxBitrate int // bits per second, measured over the limit window
}

const (
	pixels480p  = 415_000
	edge480p    = 855
	pixels1080p = 2_100_000
	edge1080p   = 1920
)

// LimitsFor returns the caps for a channel type and an input resolution: BASIC takes
// 1.5 Mbps up to 480p and 3.5 Mbps up to 1080p; STANDARD 8.5 Mbps up to 1080p.
func LimitsFor(channelType string, width, height int) Limits {
	if channelType == "STANDARD" {
		return Limits{MaxPixels: pixels1080p, MaxEdge: edge1080p, MaxBitrate: 8_500_000}
	}
	if width*height <= pixels480p && max(width, height) <= edge480p {
		return Limits{MaxPixels: pixels1080p, MaxEdge: edge1080p, MaxBitrate: 1_500_000}
	}
	return Limits{MaxPixels: pixels1080p, MaxEdge: edge1080p, MaxBitrate: 3_500_000}
}

// breach describes one exceeded limit, in the managed service's event fields.
type breach struct {
	Name       string `json:"limit_name"`
	Value      int    `json:"limit_value"`
	ExceededBy int    `json:"exceeded_by"`
	Unit       string `json:"limit_unit"`
}

func (b breach) detail() string {
	raw, _ := json.Marshal(b)
	return string(raw)
}

func (b breach) reason() string {
	return fmt.Sprintf("limit breach: %s over %d %s by %d", b.Name, b.Value, b.Unit, b.ExceededBy)
}

// resolution reads the picture size from an SPS (0, 0 if it cannot be parsed).
func resolution(sps []byte) (int, int) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, 0
	}
	return s.Width(), s.Height()
}

// resolutionBreach checks the input's size against the caps.
func resolutionBreach(l Limits, width, height int) (breach, bool) {
	if width*height > l.MaxPixels {
		return breach{Name: "Resolution", Value: l.MaxPixels, ExceededBy: width*height - l.MaxPixels, Unit: "pixels"}, true
	}
	if e := max(width, height); e > l.MaxEdge {
		return breach{Name: "Resolution", Value: l.MaxEdge, ExceededBy: e - l.MaxEdge, Unit: "pixels"}, true
	}
	return breach{}, false
}
