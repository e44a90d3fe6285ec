package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// importPeople takes a directory export (CSV) from the import page and shows what it did.
func (s *Server) importPeople(c *gin.Context) {
	v := importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20}
	fh, err := c.FormFile("file")
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			s.fail(c, errs.E(errs.TooLarge, "The file is larger than %d MB.", v.MaxMB))
			return
		}
		v.PeopleError = "Choose a directory export (CSV) to import."
		s.render(c, http.StatusBadRequest, "discovery_import", "Import logs", v)
		return
	}
	f, err := fh.Open()
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	res, err := s.discovery.ImportPeople(c.Request.Context(), actorOf(c), f)
	v.People = &res
	status := http.StatusOK
	if err != nil {
		var pe *discovery.ParseError
		if !errors.As(err, &pe) {
			s.fail(c, err)
			return
		}
		v.PeopleError, status = pe.Error(), http.StatusUnprocessableEntity
	}
	s.render(c, status, "discovery_import", "Import logs", v)
}
