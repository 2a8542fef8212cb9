package whip

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// syncWait is how long the first keyframe (and then the first audio) waits for the
// publisher's first RTCP sender report, which places the tracks on one clock.
const syncWait = 2 * time.Second

// ntpEpochOffset is the seconds from the NTP epoch (1900) to the Unix epoch.
const ntpEpochOffset = 2_208_988_800

// ntpTime converts a 64-bit NTP timestamp.
func ntpTime(v uint64) time.Time {
	secs := int64(v>>32) - ntpEpochOffset
	frac := int64((v & 0xFFFF_FFFF) * 1_000_000_000 >> 32)
	return time.Unix(secs, frac).UTC()
}

// senderClocks maps each track's RTP timestamps to the sender's wall clock through its first
// RTCP sender report. Audio and video are stamped by separate RTP clocks with random
// offsets; the reports tie both to one clock, so the tracks start in sync (arrival times
// would not: a keyframe takes far longer to encode and send than an audio packet).
type senderClocks struct {
	mu      sync.Mutex
	reports map[uint32]senderReport
}

type senderReport struct {
	ntp time.Time
	rtp uint32
}

func (c *senderClocks) record(sr *rtcp.SenderReport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reports == nil {
		c.reports = map[uint32]senderReport{}
	}
	if _, ok := c.reports[sr.SSRC]; !ok {
		c.reports[sr.SSRC] = senderReport{ntp: ntpTime(sr.NTPTime), rtp: sr.RTPTime}
	}
}

// at is the sender's wall-clock time of RTP timestamp ts (at rate Hz) on track ssrc, if a
// report for it has come. Meant for timestamps near the report (within hours).
func (c *senderClocks) at(ssrc webrtc.SSRC, ts uint32, rate int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.reports[uint32(ssrc)]
	if !ok {
		return time.Time{}, false
	}
	return r.ntp.Add(time.Duration(int64(int32(ts-r.rtp)) * int64(time.Second) / rate)), true
}

// readRTCP reads a receiver's RTCP (the interceptors need it read) and keeps the sender
// reports.
func (c *senderClocks) readRTCP(r *webrtc.RTPReceiver) {
	for {
		pkts, _, err := r.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				c.record(sr)
			}
		}
	}
}
