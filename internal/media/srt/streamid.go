package srt

import (
	"errors"
	"strings"
)

// maxKeyBytes bounds a stream key taken from a stream id (ours are far shorter).
const maxKeyBytes = 128

var errStreamID = errors.New("the stream id is not publish:STREAM_KEY")

// streamKey takes the stream key from an SRT stream id, in the form OBS and ffmpeg send
// (srt://HOST:PORT?streamid=publish:KEY) or in SRT's access-control syntax
// (#!::r=KEY,m=publish, also r=live/KEY). Anything else, and any mode but publish, is refused.
func streamKey(id string) (string, error) {
	var key string
	switch {
	case strings.HasPrefix(id, "publish:"):
		key = strings.TrimPrefix(id, "publish:")
	case strings.HasPrefix(id, "#!::"):
		mode := ""
		for _, kv := range strings.Split(strings.TrimPrefix(id, "#!::"), ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", errStreamID
			}
			switch k {
			case "r":
				key = strings.TrimPrefix(v, "live/")
			case "m":
				mode = v
			}
		}
		if mode != "publish" {
			return "", errors.New("only publishing is offered over SRT (m=publish); watch over HLS")
		}
	default:
		return "", errStreamID
	}
	if key == "" || len(key) > maxKeyBytes {
		return "", errStreamID
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == ':' {
			return "", errStreamID
		}
	}
	return key, nil
}
