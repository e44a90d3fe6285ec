package portal

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPISpec describes the JSON API under /api/v1. A test checks that it names every API route
// of the route table with its method, so the document cannot drift from the code unnoticed.
//
//go:embed openapi.yaml
var openAPISpec []byte

// openAPI serves the API description for client generators and curious people.
func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/yaml", openAPISpec)
}
