package portal

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/discovery"
)

// importPeople takes a directory export (CSV) from the import page and shows what it did.
func (s *Server) importPeople(c *gin.Context) {
	v := importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20}
	f, _, ok := s.uploadedFile(c, v, func(v *importView) { v.PeopleError = "Choose a directory export (CSV) to import." })
	if !ok {
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
