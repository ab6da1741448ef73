package locale

import (
	"strconv"
	"time"

	"golang.org/x/text/language"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// longDate is CLDR's long date format of one language (Gregorian calendar,
// format context): the month names and where day, month and year go.
type longDate struct {
	months [12]string
	format func(day, month, year string) string
}

// longDates holds CLDR's long date patterns for the languages the programs
// run in (x/text carries CLDR's date data only in unexported tables). A
// language missing here gets ISO 8601 (2026-04-30), which every reader
// understands; add a language by adding its CLDR pattern and month names.
var longDates = map[string]longDate{
	"en": {[12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		func(d, m, y string) string { return m + " " + d + ", " + y }}, // MMMM d, y
	"nl": {[12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		func(d, m, y string) string { return d + " " + m + " " + y }}, // d MMMM y
	"de": {[12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		func(d, m, y string) string { return d + ". " + m + " " + y }}, // d. MMMM y
	"hu": {[12]string{"január", "február", "március", "április", "május", "június", "július", "augusztus", "szeptember", "október", "november", "december"},
		func(d, m, y string) string { return y + ". " + m + " " + d + "." }}, // y. MMMM d.
	"fr": {[12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		func(d, m, y string) string { return d + " " + m + " " + y }}, // d MMMM y
}

// dayFirstEnglish are the English regions whose long date puts the day
// first (CLDR en_GB and its children: "30 April 2026").
var dayFirstEnglish = map[string]bool{"GB": true, "IE": true, "AU": true, "NZ": true, "IN": true, "ZA": true, "150": true, "001": true}

// FormatDate writes a calendar day in the long date format of tag.
func FormatDate(tag language.Tag, d loyalty.Date) string {
	tm, err := time.Parse("2006-01-02", string(d))
	if err != nil {
		return string(d)
	}
	base, _ := tag.Base()
	ld, ok := longDates[base.String()]
	if !ok {
		return string(d)
	}
	day, month, year := strconv.Itoa(tm.Day()), ld.months[tm.Month()-1], strconv.Itoa(tm.Year())
	if base.String() == "en" {
		if region, conf := tag.Region(); conf == language.Exact && dayFirstEnglish[region.String()] {
			return day + " " + month + " " + year
		}
	}
	return ld.format(day, month, year)
}
