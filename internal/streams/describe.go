package streams

import (
	"encoding/json"
	"fmt"
)

// Severities of events and warnings.
const (
	SeverityNone    = ""
	SeveritySuccess = "success"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// EventDescription is how the health page names an event and what it tells the streamer.
type EventDescription struct {
	Label    string
	Severity string
	Message  string // what happened and, for errors, what to do; "" for routine events
}

// EventDetail is the structured part of an event's Detail.
type EventDetail struct {
	Reason     string `json:"reason,omitempty"`
	LimitName  string `json:"limit_name,omitempty"`
	LimitValue int    `json:"limit_value,omitempty"`
	ExceededBy int    `json:"exceeded_by,omitempty"`
	LimitUnit  string `json:"limit_unit,omitempty"`
	From       string `json:"from,omitempty"` // a Resolution Change's sizes
	To         string `json:"to,omitempty"`
	// The recorder's (ReportRecording).
	RecordingReason string `json:"recording_status_reason,omitempty"`
	SegmentsDropped int    `json:"recording_segments_dropped,omitempty"`
}

// ParseDetail reads an event's Detail; malformed or empty details read as empty.
func (e *Event) ParseDetail() EventDetail {
	var d EventDetail
	if e.Detail != "" {
		_ = json.Unmarshal([]byte(e.Detail), &d)
	}
	return d
}

// Describe names an event for people, as the reference's health page does.
func Describe(e *Event) EventDescription {
	d := e.ParseDetail()
	switch e.Name {
	case EventStreamReconnected:
		return EventDescription{Label: "Encoder reconnected", Severity: SeveritySuccess,
			Message: "The encoder came back within the grace period: the same session and playlist go on."}
	case EventResolutionChange:
		return EventDescription{Label: "Resolution changed", Message: "The encoder now sends " + d.To + " (was " + d.From + ")."}
	case EventSessionCreated:
		return EventDescription{Label: "Session created"}
	case EventStreamStart:
		return EventDescription{Label: "Stream started"}
	case EventStreamEnd:
		return EventDescription{Label: "Stream ended", Message: reasonMessage(d.Reason)}
	case EventSessionEnded:
		return EventDescription{Label: "Session ended", Message: reasonMessage(d.Reason)}
	case EventStarvationStart:
		return EventDescription{Label: "Poor stability", Severity: SeverityError,
			Message: "The encoder stopped sending media for 5 seconds, so viewers saw the stream stall. Check the encoder's network connection and its CPU load, or lower its bitrate."}
	case EventStarvationEnd:
		return EventDescription{Label: "Good stability", Severity: SeveritySuccess, Message: "Media arrives steadily again."}
	case "Stream Failure":
		return EventDescription{Label: "Stream failure", Severity: SeverityError, Message: reasonMessage(d.Reason)}
	case "Recording Start":
		return EventDescription{Label: "Recording started"}
	case "Recording End":
		return EventDescription{Label: "Recording ended"}
	case "Recording Start Failure", "Recording End Failure":
		label := "Recording start failure"
		if e.Name == "Recording End Failure" {
			label = "Recording end failure"
		}
		reason := d.Reason
		if reason == "" {
			reason = d.RecordingReason
		}
		return EventDescription{Label: label, Severity: SeverityError, Message: reasonMessage(reason)}
	case EventRecordingDropped:
		return EventDescription{Label: "Recording gaps", Severity: SeverityWarning,
			Message: fmt.Sprintf("The recordings storage was too slow, so %d segments of about 4 seconds are missing from this stream's recording. The live stream was not affected.", d.SegmentsDropped)}
	case EventLimitBreach:
		switch d.LimitName {
		case "Bitrate":
			return EventDescription{Label: "Bitrate limit breach", Severity: SeverityError,
				Message: fmt.Sprintf("The stream's bitrate went over the channel's limit of %s by %s, so it was disconnected. Lower the encoder's bitrate (or its resolution, which lowers the limit that applies).", mbps(d.LimitValue), mbps(d.ExceededBy))}
		case "Resolution":
			return EventDescription{Label: "Resolution limit breach", Severity: SeverityError,
				Message: fmt.Sprintf("The stream's resolution went over the channel's limit of %d %s by %d, so it was refused. Stream at 1080p or less.", d.LimitValue, d.LimitUnit, d.ExceededBy)}
		}
		return EventDescription{Label: "Critical system error", Severity: SeverityError, Message: reasonMessage(d.Reason)}
	}
	return EventDescription{Label: e.Name}
}

func reasonMessage(reason string) string {
	if reason == "" {
		return ""
	}
	return "Reason: " + reason + "."
}

func mbps(bps int) string { return fmt.Sprintf("%.2f Mbps", float64(bps)/1e6) }

// Warning is something in the encoder's configuration a streamer should change.
type Warning struct {
	Field    string // the IngestConfig field, or "keyframeInterval"
	Severity string
	Message  string
}

// ConfigWarnings checks the encoder's declared configuration, and the keyframe interval
// measured over the session (0 if unknown), against what plays well and what the channel
// type allows, as the reference's encoder summary does.
func ConfigWarnings(channelType string, c *IngestConfig, keyframeInterval float64) []Warning {
	var out []Warning
	if keyframeInterval >= 3 {
		out = append(out, Warning{"keyframeInterval", SeverityError,
			fmt.Sprintf("The keyframe interval is %.1f s; set it to 2 seconds so viewers can join and switch quality quickly.", keyframeInterval)})
	}
	if c == nil {
		return out
	}
	if c.Width > 0 && c.Height > 0 {
		if c.Width*c.Height > pixels1080p || max(c.Width, c.Height) > edge1080p {
			out = append(out, Warning{"resolution", SeverityError,
				fmt.Sprintf("%d×%d is larger than 1080p, the most a channel takes; set the output resolution to 1920×1080 or less.", c.Width, c.Height)})
		}
		if lim := LimitsFor(channelType, c.Width, c.Height); c.TargetBitrate > lim.MaxBitrate {
			out = append(out, Warning{"targetBitrate", SeverityError,
				fmt.Sprintf("The target bitrate %s is over the %s a %s channel takes at %d×%d; lower it to %s or less.", mbps(c.TargetBitrate), mbps(lim.MaxBitrate), typeName(channelType), c.Width, c.Height, mbps(lim.MaxBitrate))})
		}
	}
	if c.AudioSampleRate > 0 && c.AudioSampleRate != 44100 && c.AudioSampleRate != 48000 {
		out = append(out, Warning{"audioSampleRate", SeverityWarning,
			fmt.Sprintf("The audio sample rate is %.1f kHz; 44.1 or 48 kHz play best.", float64(c.AudioSampleRate)/1000)})
	}
	if c.AudioChannels > 2 {
		out = append(out, Warning{"audioChannels", SeverityError,
			fmt.Sprintf("The audio has %d channels; use mono or stereo.", c.AudioChannels)})
	}
	if c.AudioBitrate > 320_000 {
		out = append(out, Warning{"audioBitrate", SeverityWarning,
			fmt.Sprintf("The audio bitrate %d kbps is over 320 kbps; lower it to 160 kbps or less.", c.AudioBitrate/1000)})
	}
	return out
}

func typeName(t string) string {
	if t == "" {
		return "BASIC"
	}
	return t
}
