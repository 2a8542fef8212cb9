package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Point is one second of a live session's health, measured from the stream itself.
type Point struct {
	At               time.Time // the second measured, UTC, whole seconds
	VideoBitrate     int       // bits per second
	AudioBitrate     int       // bits per second
	Framerate        float64   // frames per second
	KeyframeInterval float64   // seconds between the last two keyframes; 0 before the second
	Views            int       // concurrent views
}

// Stored resolution of each metric: bitrates to the kbit/s, frame rate to the hundredth,
// keyframe interval to the millisecond. Finer figures would cost bytes and tell no streamer
// anything more.
const (
	bitrateUnit   = 1000
	framerateUnit = 100
	keyframeUnit  = 1000
)

// minuteFormat is the first byte of an encoded minute, so the layout can change later.
const minuteFormat = 1

// EncodeMinute packs points of one minute (in time order, each in that minute) into a blob:
// a format byte, then per point its second within the minute and the change of each metric
// from the point before as zigzag varints. Steady streams cost about 8 bytes a point.
func EncodeMinute(points []Point) []byte {
	buf := make([]byte, 0, 1+len(points)*8)
	buf = append(buf, minuteFormat)
	var prev [5]int64
	for _, p := range points {
		buf = append(buf, byte(p.At.Unix()%60))
		cur := p.quantised()
		for i, v := range cur {
			buf = binary.AppendVarint(buf, v-prev[i])
		}
		prev = cur
	}
	return buf
}

func (p Point) quantised() [5]int64 {
	return [5]int64{
		int64(math.Round(float64(p.VideoBitrate) / bitrateUnit)),
		int64(math.Round(float64(p.AudioBitrate) / bitrateUnit)),
		int64(math.Round(p.Framerate * framerateUnit)),
		int64(math.Round(p.KeyframeInterval * keyframeUnit)),
		int64(p.Views),
	}
}

var errBadMinute = errors.New("malformed metrics minute")

// DecodeMinute unpacks what EncodeMinute packed for the minute starting at Unix time
// minute*60.
func DecodeMinute(minute int64, data []byte) ([]Point, error) {
	if len(data) == 0 || data[0] != minuteFormat {
		return nil, fmt.Errorf("%w: unknown format", errBadMinute)
	}
	data = data[1:]
	var out []Point
	var cur [5]int64
	for len(data) > 0 {
		sec := int64(data[0])
		if sec >= 60 {
			return nil, fmt.Errorf("%w: second %d", errBadMinute, sec)
		}
		data = data[1:]
		for i := range cur {
			d, n := binary.Varint(data)
			if n <= 0 {
				return nil, fmt.Errorf("%w: truncated point", errBadMinute)
			}
			cur[i] += d
			data = data[n:]
		}
		out = append(out, Point{
			At:               time.Unix(minute*60+sec, 0).UTC(),
			VideoBitrate:     int(cur[0] * bitrateUnit),
			AudioBitrate:     int(cur[1] * bitrateUnit),
			Framerate:        float64(cur[2]) / framerateUnit,
			KeyframeInterval: float64(cur[3]) / keyframeUnit,
			Views:            int(cur[4]),
		})
	}
	return out, nil
}

// Periods are the aggregation periods the metrics are served at, in seconds.
var Periods = []int{1, 5, 60, 300, 3600}

// Series is a session's metrics over a time range at one period: each slice holds one value
// per period from AlignedStart on, nil where no point fell in that period. Values are the
// averages of the 1-second points in their period.
type Series struct {
	Period           int        `json:"period"`
	AlignedStart     time.Time  `json:"alignedStartTime"`
	VideoBitrate     []*float64 `json:"videoBitrate"`
	AudioBitrate     []*float64 `json:"audioBitrate"`
	Framerate        []*float64 `json:"framerate"`
	KeyframeInterval []*float64 `json:"keyframeInterval"`
	ConcurrentViews  []*float64 `json:"concurrentViews"`
	Averages         Averages   `json:"averages"`
}

// Averages are the means over every point of the range (0 with no points).
type Averages struct {
	VideoBitrate     float64 `json:"videoBitrate"`
	AudioBitrate     float64 `json:"audioBitrate"`
	Framerate        float64 `json:"framerate"`
	KeyframeInterval float64 `json:"keyframeInterval"` // over the points that have one
	ConcurrentViews  float64 `json:"concurrentViews"`
}

// Aggregate averages points (in time order) into periods of period seconds covering
// [from, to): from is aligned down to the period and to up.
func Aggregate(points []Point, period int, from, to time.Time) Series {
	p := int64(period)
	start := from.Unix() / p * p
	end := (to.Unix() + p - 1) / p * p
	n := max(int((end-start)/p), 0)
	s := Series{Period: period, AlignedStart: time.Unix(start, 0).UTC()}
	type acc struct {
		count             int
		vb, ab, fr, views float64
		kfCount           int
		kf                float64
	}
	buckets := make([]acc, n)
	var total acc
	for _, pt := range points {
		i := int((pt.At.Unix() - start) / p)
		if pt.At.Unix() < start || i >= n {
			continue
		}
		for _, a := range []*acc{&buckets[i], &total} {
			a.count++
			a.vb += float64(pt.VideoBitrate)
			a.ab += float64(pt.AudioBitrate)
			a.fr += pt.Framerate
			a.views += float64(pt.Views)
			if pt.KeyframeInterval > 0 {
				a.kfCount++
				a.kf += pt.KeyframeInterval
			}
		}
	}
	s.VideoBitrate, s.AudioBitrate, s.Framerate = make([]*float64, n), make([]*float64, n), make([]*float64, n)
	s.KeyframeInterval, s.ConcurrentViews = make([]*float64, n), make([]*float64, n)
	mean := func(sum float64, count int) *float64 {
		v := round3(sum / float64(count))
		return &v
	}
	for i, b := range buckets {
		if b.count == 0 {
			continue
		}
		s.VideoBitrate[i] = mean(b.vb, b.count)
		s.AudioBitrate[i] = mean(b.ab, b.count)
		s.Framerate[i] = mean(b.fr, b.count)
		s.ConcurrentViews[i] = mean(b.views, b.count)
		if b.kfCount > 0 {
			s.KeyframeInterval[i] = mean(b.kf, b.kfCount)
		}
	}
	if total.count > 0 {
		c := float64(total.count)
		s.Averages = Averages{VideoBitrate: round3(total.vb / c), AudioBitrate: round3(total.ab / c), Framerate: round3(total.fr / c), ConcurrentViews: round3(total.views / c)}
		if total.kfCount > 0 {
			s.Averages.KeyframeInterval = round3(total.kf / float64(total.kfCount))
		}
	}
	return s
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// DefaultPeriod picks the finest period that keeps a range of d to at most maxPoints values,
// never finer than 5 s (the managed service's recommended high-resolution period).
func DefaultPeriod(d time.Duration) int {
	const maxPoints = 1500
	for _, p := range Periods {
		if p >= 5 && d/(time.Duration(p)*time.Second) <= maxPoints {
			return p
		}
	}
	return Periods[len(Periods)-1]
}

// ValidPeriod reports whether p is one of Periods.
func ValidPeriod(p int) bool { return slices.Contains(Periods, p) }
