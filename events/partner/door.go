package partner

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// DoorAnswerSchema is the JSON schema of what the synchronous partner door
// answers (shared/ingest door.go): the points, the balance and the rewards
// of a message, or the refusal.
//
//go:embed door/answer.v1.schema.json
var DoorAnswerSchema []byte

var doorAnswer = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(DoorAnswerSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const id = "door-answer.v1.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
})

// ValidateDoorAnswer checks a door answer body against DoorAnswerSchema.
func ValidateDoorAnswer(body []byte) error {
	s, err := doorAnswer()
	if err != nil {
		return err
	}
	doc, err := DecodeJSON(body)
	if err != nil {
		return err
	}
	return s.Validate(doc)
}
