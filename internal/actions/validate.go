package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/livehouse/livehouse/internal/problem"
)

// The actions a streamer can trigger.
const (
	Quiz          = "quiz"
	Product       = "product"
	AmazonProduct = "amazon_product"
	Notice        = "notice"
	Celebration   = "celebration"
)

// The reference's limits (its STREAM_MANAGER_ACTION_LIMITS).
const (
	QuizQuestionMax      = 256
	QuizAnswerMax        = 128
	QuizAnswersMin       = 3
	QuizAnswersMax       = 5
	DurationMin          = 5
	DurationMax          = 30
	ProductTitleMax      = 32
	ProductPriceMax      = 10
	ProductImageURLMax   = 256
	ProductDescMax       = 256
	NoticeTitleMax       = 24
	NoticeMessageMax     = 256
	AmazonTitleMax       = 200
	AmazonPriceMax       = 32
	AmazonURLMax         = 2048
	CelebrationDuration  = 10
	MaxEncodedPayloadLen = 1024 // bytes of {"name","data"}, as the managed service allows
)

// The data of each action, with its fields in the reference's order.
type (
	QuizData struct {
		Question           string   `json:"question"`
		Answers            []string `json:"answers"`
		CorrectAnswerIndex int      `json:"correctAnswerIndex"`
		Duration           int      `json:"duration"`
	}
	ProductData struct {
		Title       string `json:"title"`
		Price       string `json:"price"`
		ImageURL    string `json:"imageUrl"`
		Description string `json:"description"`
	}
	NoticeData struct {
		Title    string `json:"title"`
		Message  string `json:"message"`
		Duration int    `json:"duration"`
	}
	CelebrationData struct {
		Duration int `json:"duration"`
	}
	// AmazonProductData is one product search result as the viewer shows it.
	AmazonProductData struct {
		Title      string `json:"title"`
		Price      string `json:"price"`
		ImageURL   string `json:"imageUrl"`
		ProductURL string `json:"productUrl"`
	}
)

// check is how strict validation is: saving a configuration allows unfinished forms within
// the limits; sending needs every field and unique answers.
type check struct {
	sending bool
}

func invalid(field, format string, args ...any) error {
	return problem.Invalid("InvalidStreamAction", field, fmt.Sprintf(format, args...))
}

// normalize validates an action's data and returns it re-encoded with exactly its known
// fields; a duration of 0 means the action lasts until stopped or replaced.
func normalize(name string, raw json.RawMessage, c check) (json.RawMessage, int, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var (
		v        any
		duration int
		err      error
	)
	switch name {
	case Quiz:
		d := &QuizData{}
		if err = decode(dec, d); err == nil {
			err = d.validate(c)
		}
		duration, v = d.Duration, d
	case Product:
		d := &ProductData{}
		if err = decode(dec, d); err == nil {
			err = d.validate(c)
		}
		v = d
	case Notice:
		d := &NoticeData{}
		if err = decode(dec, d); err == nil {
			err = d.validate(c)
		}
		duration, v = d.Duration, d
	case Celebration:
		d := &CelebrationData{Duration: CelebrationDuration}
		if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
			err = decode(dec, d)
		}
		if err == nil {
			err = durationIn(d.Duration)
		}
		duration, v = d.Duration, d
	case AmazonProduct:
		d := &AmazonProductData{}
		if err = decode(dec, d); err == nil {
			err = d.validate()
		}
		v = d
	default:
		return nil, 0, invalid("name", "Unknown stream action %q: use quiz, product, amazon_product, notice or celebration.", name)
	}
	if err != nil {
		return nil, 0, err
	}
	out, _ := json.Marshal(v)
	return out, duration, nil
}

func decode(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return invalid("data", "The action's data is not valid: %s.", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func (d *QuizData) validate(c check) error {
	d.Question = strings.TrimSpace(d.Question)
	if err := text("question", "Question", d.Question, QuizQuestionMax, c.sending); err != nil {
		return err
	}
	if len(d.Answers) < QuizAnswersMin || len(d.Answers) > QuizAnswersMax {
		return invalid("answers", "A quiz needs %d to %d answers.", QuizAnswersMin, QuizAnswersMax)
	}
	seen := map[string]bool{}
	for i, a := range d.Answers {
		a = strings.TrimSpace(a)
		d.Answers[i] = a
		field := fmt.Sprintf("answers.%d", i)
		if err := text(field, "Answer", a, QuizAnswerMax, c.sending); err != nil {
			return err
		}
		if c.sending && seen[a] {
			return invalid(field, "Duplicate answer: each answer must be unique.")
		}
		seen[a] = true
	}
	if d.CorrectAnswerIndex < 0 || d.CorrectAnswerIndex >= len(d.Answers) {
		return invalid("correctAnswerIndex", "Select the correct answer.")
	}
	return durationIn(d.Duration)
}

func (d *ProductData) validate(c check) error {
	d.Title, d.Price, d.ImageURL, d.Description = strings.TrimSpace(d.Title), strings.TrimSpace(d.Price), strings.TrimSpace(d.ImageURL), strings.TrimSpace(d.Description)
	if err := text("title", "Title", d.Title, ProductTitleMax, c.sending); err != nil {
		return err
	}
	if err := text("price", "Price", d.Price, ProductPriceMax, c.sending); err != nil {
		return err
	}
	if err := link("imageUrl", "Image URL", d.ImageURL, ProductImageURLMax, c.sending); err != nil {
		return err
	}
	return text("description", "Description", d.Description, ProductDescMax, false)
}

func (d *NoticeData) validate(c check) error {
	d.Title, d.Message = strings.TrimSpace(d.Title), strings.TrimSpace(d.Message)
	if err := text("title", "Title", d.Title, NoticeTitleMax, c.sending); err != nil {
		return err
	}
	if err := text("message", "Message", d.Message, NoticeMessageMax, c.sending); err != nil {
		return err
	}
	return durationIn(d.Duration)
}

func (d *AmazonProductData) validate() error {
	if err := text("title", "Title", strings.TrimSpace(d.Title), AmazonTitleMax, true); err != nil {
		return err
	}
	if err := text("price", "Price", d.Price, AmazonPriceMax, false); err != nil {
		return err
	}
	if err := link("imageUrl", "Image URL", d.ImageURL, AmazonURLMax, true); err != nil {
		return err
	}
	return link("productUrl", "Product URL", d.ProductURL, AmazonURLMax, true)
}

func text(field, label, s string, max int, required bool) error {
	if required && s == "" {
		return invalid(field, "%s is required.", label)
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, "%s must be %d characters or fewer.", label, max)
	}
	return nil
}

func link(field, label, s string, max int, required bool) error {
	if err := text(field, label, s, max, required); err != nil || s == "" {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid(field, "%s must be a valid http or https URL.", label)
	}
	return nil
}

func durationIn(d int) error {
	if d < DurationMin || d > DurationMax {
		return invalid("duration", "Duration must be between %d and %d seconds.", DurationMin, DurationMax)
	}
	return nil
}
