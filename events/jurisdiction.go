package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// County is a county-level division (县市区) or a park with a code of its own.
type County struct {
	Code string `json:"code"` // GB/T 2260 six-digit code, or a configured code for a park
	Name string `json:"name"`
}

// Jurisdiction is the list of counties whose promises the ledger keeps, and
// the zone of their calendar.
type Jurisdiction struct {
	Counties []County
	Location *time.Location
	// DueSoonDays and AckDays are the supervision thresholds the traffic
	// lights judge by: due within so many days, an order not signed for
	// within so many days of its issue (defaults 30 and 3; serve sets them
	// from the alert flags, so lights and alerts agree).
	DueSoonDays, AckDays int
	byCode               map[string]County
}

// Default supervision thresholds.
const (
	DefaultDueSoonDays = 30
	DefaultAckDays     = 3
)

// China has a single zone without daylight saving: UTC+8, all year.
var chinaStandardTime = time.FixedZone("CST", 8*60*60)

// Chuxiong is the default list: the ten county-level divisions of Chuxiong Yi
// Autonomous Prefecture.
var Chuxiong = []County{
	{"532301", "楚雄市"}, {"532322", "双柏县"}, {"532323", "牟定县"}, {"532324", "南华县"},
	{"532325", "姚安县"}, {"532326", "大姚县"}, {"532327", "永仁县"}, {"532328", "元谋县"},
	{"532329", "武定县"}, {"532331", "禄丰市"},
}

var countyCode = regexp.MustCompile(`^[0-9A-Za-z]{2,12}$`)

// NewJurisdiction validates a county list (codes unique, usable as a subject
// token) and sorts it by code. A nil loc means China Standard Time.
func NewJurisdiction(counties []County, loc *time.Location) (*Jurisdiction, error) {
	if loc == nil {
		loc = chinaStandardTime
	}
	j := &Jurisdiction{Location: loc, DueSoonDays: DefaultDueSoonDays, AckDays: DefaultAckDays, byCode: make(map[string]County, len(counties))}
	var errs []error
	for i, c := range counties {
		if !countyCode.MatchString(c.Code) {
			errs = append(errs, fmt.Errorf("counties[%d].code %q: must be 2 to 12 letters or digits", i, c.Code))
			continue
		}
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("counties[%d].name: is required", i))
		}
		if _, dup := j.byCode[c.Code]; dup {
			errs = append(errs, fmt.Errorf("counties[%d].code %q: appears twice", i, c.Code))
		}
		j.byCode[c.Code] = c
		j.Counties = append(j.Counties, c)
	}
	if len(counties) == 0 {
		errs = append(errs, errors.New("counties: at least one is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(j.Counties, func(a, b int) bool { return j.Counties[a].Code < j.Counties[b].Code })
	return j, nil
}

// DefaultJurisdiction is Chuxiong's ten counties in China Standard Time.
func DefaultJurisdiction() *Jurisdiction {
	j, err := NewJurisdiction(Chuxiong, nil)
	if err != nil {
		panic(err)
	}
	return j
}

// ParseJurisdiction reads a JSON list of {"code", "name"} objects.
func ParseJurisdiction(b []byte) (*Jurisdiction, error) {
	var cs []County
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("county list: %w", err)
	}
	return NewJurisdiction(cs, nil)
}

// County returns the county with the code.
func (j *Jurisdiction) County(code string) (County, bool) {
	c, ok := j.byCode[code]
	return c, ok
}

// Today is the calendar date of instant t in the jurisdiction.
func (j *Jurisdiction) Today(t time.Time) Date { return DateOf(t, j.Location) }

// Only is the jurisdiction narrowed to the one county with the code (empty
// when there is none).
func (j *Jurisdiction) Only(code string) *Jurisdiction {
	out := &Jurisdiction{Location: j.Location, DueSoonDays: j.DueSoonDays, AckDays: j.AckDays, byCode: map[string]County{}}
	if c, ok := j.byCode[code]; ok {
		out.Counties, out.byCode[code] = []County{c}, c
	}
	return out
}
