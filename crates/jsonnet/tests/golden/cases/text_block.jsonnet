|||
  line one
    indented
  line three
|||
