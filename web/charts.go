package web

import (
	"fmt"
	"html/template"
	"strings"
)

// Bar is one bar of a chart: its label, its length, the text at its end.
type Bar struct {
	Label string
	Value float64 // for the drawing only: the text says the exact figure
	Text  string
}

// Bars draws a horizontal bar chart as SVG, readable without JavaScript:
// a row per bar, the label at the left, the exact figure at the bar's end,
// and a title for screen readers. Every text in it is escaped.
func Bars(title string, bars []Bar) template.HTML {
	const labelW, barW, rowH, pad = 120.0, 380.0, 26.0, 8.0
	height := pad*2 + rowH*float64(max(len(bars), 1))
	most := 0.0
	for _, b := range bars {
		most = max(most, b.Value)
	}
	esc := template.HTMLEscapeString
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		labelW+barW+110, height, esc(title), esc(title))
	for i, b := range bars {
		y := pad + rowH*float64(i)
		w := 0.0
		if most > 0 {
			w = barW * b.Value / most
		}
		fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" class="label" text-anchor="end">%s</text>`, labelW-6, y+rowH*0.65, esc(b.Label))
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.1f" class="bar"></rect>`, labelW, y+4, max(w, 1), rowH-8)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" class="value">%s</text>`, labelW+max(w, 1)+6, y+rowH*0.65, esc(b.Text))
	}
	if len(bars) == 0 {
		fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" class="label">—</text>`, labelW, pad+rowH*0.65)
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String())
}
