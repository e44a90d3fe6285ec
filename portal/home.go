package portal

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

func (s *Server) home(c *gin.Context) {
	s.render(c, http.StatusOK, "home", "Home", nil)
}
