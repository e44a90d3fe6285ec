package meiliindex

import (
	"encoding/json"
	"reflect"
	"testing"
)

// answer is a search answer in the shape Meilisearch 1.x writes it.
const answer = `{"hits":[{"slug":"slack","name":"Slack","vendor":"Salesforce","description":"Team chat with channels.","category":"communication","category_label":"Communication","tags":["chat","messaging"],"aliases":["slack.com"],"status":"approved","status_rank":0,"updated_at":"2026-03-04T05:06:07.891234Z"},` +
	`{"slug":"dashlane","name":"Dashlane","vendor":"Dashlane","description":"","category":"security","category_label":"Security","tags":[],"aliases":null,"status":"not_approved","status_rank":3,"updated_at":"2026-03-04T06:06:07+01:00"}],` +
	`"query":"sla","processingTimeMs":1,"hitsPerPage":20,"page":1,"totalPages":1,"totalHits":2,"facetDistribution":{"category":{"communication":1,"security":1},"status":{"approved":1,"not_approved":1}},"facetStats":{}}`

func TestDecodeSearchReadsMeilisearchsShapeWithoutEncodingJSON(t *testing.T) {
	var fast searchResponse
	if p := (parser{b: []byte(answer)}); !p.response(&fast) {
		t.Fatalf("the fast path left a usual answer to encoding/json (at byte %d)", p.i)
	}
	var want searchResponse
	if err := json.Unmarshal([]byte(answer), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("fast path:\n%+v\nencoding/json:\n%+v", fast, want)
	}
	if len(fast.Hits) != 2 || fast.Hits[1].Aliases != nil || fast.Hits[1].Tags == nil || fast.TotalHits != 2 || fast.FacetDistribution["status"]["not_approved"] != 1 {
		t.Errorf("decoded %+v", fast)
	}
}

func TestDecodeSearchAgreesWithEncodingJSONOnOtherShapes(t *testing.T) {
	for name, text := range map[string]string{
		"escaped string":      `{"hits":[{"slug":"a\"b","name":"caf\u00e9"}],"totalHits":1}`,
		"key in other case":   `{"Hits":[{"slug":"a"}],"TOTALHITS":3}`,
		"key with a folding":  `{"hits":[{"ſlug":"a"}]}`,
		"duplicate key":       `{"totalHits":1,"totalHits":2}`,
		"nulls":               `{"hits":[null,{"slug":null,"tags":[null,"x"],"status_rank":null}],"totalHits":null,"facetDistribution":{"status":null}}`,
		"null everything":     `null`,
		"empty":               `{}`,
		"nested unknowns":     `{"facetStats":{"a":{"min":1.5e3,"max":-2}},"x":[true,false,null,[{}]],"totalHits":0}`,
		"invalid UTF-8":       "{\"hits\":[{\"name\":\"\xff\"}]}",
		"float count":         `{"totalHits":1.0}`,
		"leading zero":        `{"totalHits":01}`,
		"trailing data":       `{"totalHits":1} x`,
		"wrong type":          `{"hits":[{"tags":"chat"}]}`,
		"bad time":            `{"hits":[{"updated_at":"yesterday"}]}`,
		"huge number":         `{"totalHits":123456789012345678901234567890}`,
		"blanks":              " \n{ \"totalHits\" : 4 ,\t\"hits\" : [ ] } \r\n",
		"unterminated string": `{"hits":[{"slug":"a`,
	} {
		t.Run(name, func(t *testing.T) {
			var got, want searchResponse
			gotErr := decodeSearch([]byte(text), &got)
			wantErr := json.Unmarshal([]byte(text), &want)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("error %v, encoding/json's %v", gotErr, wantErr)
			}
			if gotErr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n%+v\nencoding/json:\n%+v", got, want)
			}
		})
	}
}

// FuzzDecodeSearch checks that whatever the fast path accepts, encoding/json accepts and
// decodes to the same value.
func FuzzDecodeSearch(f *testing.F) {
	f.Add([]byte(answer))
	f.Add([]byte(`{"hits":[],"totalHits":0,"facetDistribution":{}}`))
	f.Add([]byte(`{"hits":null,"facetStats":{"a":{"min":1.5e-3}},"query":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast searchResponse
		if p := (parser{b: b}); !p.response(&fast) {
			return // left to encoding/json
		}
		var want searchResponse
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("the fast path accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%q: fast path\n%+v\nencoding/json\n%+v", b, fast, want)
		}
	})
}
