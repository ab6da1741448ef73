// Package archtest holds the import-rules test: the floor plan of shared/
// (see the README's "Floor plan") checked against what each package really
// imports, so the architecture cannot erode one import at a time. It has no
// code of its own.
package archtest
