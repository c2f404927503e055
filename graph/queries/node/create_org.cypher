CREATE (o:NodeOrganisation)
SET o = $organisation
