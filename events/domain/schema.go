// Package domain is the contract of the events the engine publishes on its
// EventBridge bus (source "loyalty"): one JSON Schema (draft 2020-12) per
// detail-type and version, named <detail-type>.schema.json, with a sample
// event of each under samples/. Subscribers (CRM, e-mail, push) read the
// schemas; the tests check that the samples and every event the jobs
// publish match them.
//
// Versioning: the version is part of the detail-type ("points.expired.v1");
// a published schema never changes, a new version gets a new file and a new
// $id and is published next to the old one for as long as consumers need.
//
// It imports the standard library and the JSON Schema validator only, never
// the domain package or an adapter of this module.
package domain

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFiles holds the published schemas.
//
//go:embed *.schema.json
var SchemaFiles embed.FS

var compiled = sync.OnceValues(compileAll)

func compileAll() (map[string]*jsonschema.Schema, error) {
	files, err := SchemaFiles.ReadDir(".")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	ids := map[string]string{}
	for _, f := range files {
		typ := strings.TrimSuffix(f.Name(), ".schema.json")
		b, err := SchemaFiles.ReadFile(f.Name())
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("domain event schema %s: %w", f.Name(), err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("domain event schema %s: no $id", f.Name())
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("domain event schema %s: %w", f.Name(), err)
		}
		ids[typ] = id
	}
	out := map[string]*jsonschema.Schema{}
	for typ, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			return nil, fmt.Errorf("domain event schema %s: %w", typ, err)
		}
		out[typ] = s
	}
	return out, nil
}

// Types lists the published detail-types, sorted.
func Types() ([]string, error) {
	schemas, err := compiled()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(schemas))
	for t := range schemas {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// ErrUnknownType says no schema is published for a detail-type.
var ErrUnknownType = errors.New("no schema for this detail-type")

// Validate checks an event's detail (JSON) against the schema of its
// detail-type.
func Validate(detailType string, detail []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	s, ok := schemas[detailType]
	if !ok {
		return fmt.Errorf("%s: %w", detailType, ErrUnknownType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
	if err != nil {
		return fmt.Errorf("%s: detail is not JSON: %w", detailType, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w", detailType, err)
	}
	return nil
}
